"""The domain of backroom: models, rules, queries and services. Imports neither tui nor mailer."""
