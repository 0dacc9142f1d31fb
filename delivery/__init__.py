"""Turning outbox messages into something a person receives: the texts, and the mail transport."""
