"""What starts and drives the workflows: service operations, the CLI, and the web app."""
