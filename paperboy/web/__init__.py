"""The web surface: server-rendered pages, JSON APIs (ours and Hugging Face's) and feeds."""

from paperboy.web.app import create_app

__all__ = ["create_app"]
