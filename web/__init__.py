"""The storefront API over HTTP (FastAPI on uvicorn, served by `backroom serve`): a router
per resource, each handler one call into a store service. Imports store (and documents),
never tui or mailer."""
