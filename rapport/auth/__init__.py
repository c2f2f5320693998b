"""Who is asking: bearer tokens and API keys turned into an :class:`~rapport.auth.actor.Actor`."""
