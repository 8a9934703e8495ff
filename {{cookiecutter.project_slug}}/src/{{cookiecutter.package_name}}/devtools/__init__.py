"""Development tools: ``flask auth ...`` commands and a local stand-in authorization server.

Nothing on the request path imports this package; the app only registers its commands.
"""
