"""The web app: the JSON API under /api/v1 and the pages of businesses, reviewers, moderators."""
