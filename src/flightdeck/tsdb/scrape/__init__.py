"""Scraping: exposition-format parsing, relabeling, scrape configuration and the scrape loop."""
