"""Share Funnel's common package: scene codec, attribution rules, identity, config and adapters.

Kept import-light on purpose: every function's cold start imports this package, so nothing
here pulls in pymongo or requests until a module that needs them is imported.
"""
