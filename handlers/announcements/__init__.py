"""Targeted announcements: the ``announcements`` handler, its audiences, queue and HTTP routes."""

from handlers.announcements.handler import AnnouncementsConfig, AnnouncementsHandler

__all__ = ["AnnouncementsConfig", "AnnouncementsHandler"]
