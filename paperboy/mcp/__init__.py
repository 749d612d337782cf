"""The MCP surface: paperboy's search, papers, trending and daily listings as tools for agents."""
