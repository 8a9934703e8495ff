"""Development tools: ``flask auth ...`` commands and a local stand-in issuer.

Nothing on the request path imports this package; the app only registers its commands.
"""
