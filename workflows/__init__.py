"""The two durable processes of DESIGN: a contact with a reviewer, and the report after it."""
