"""Developer tools: the demo, the simulated mini program client, build scripts. Never deployed."""
