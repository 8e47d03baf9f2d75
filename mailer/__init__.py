"""Messages: templates, rendering and SMTP delivery of the outbox. Never imports `tui`."""
