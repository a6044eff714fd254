"""The console's pages, one router per resource (each page declares its policy set)."""
