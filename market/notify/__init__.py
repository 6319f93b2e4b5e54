"""Notifications, mail, outbound webhooks and messages (issue "Nobody misses anything";
empty until it lands)."""
