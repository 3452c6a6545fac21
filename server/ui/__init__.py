"""The web UI: HTML pages and static assets, all served by this server (no CDN, works offline)."""
