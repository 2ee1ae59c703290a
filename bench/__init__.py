"""The project's benchmark (``make bench``, or ``python -m bench``).

Drives complete checks through the real PTB Application and the bot's handlers against the
in-process Bot API double, side by side with *the floor* (a bare PTB Application answering each
update with one Bot API call), and reports ratios measured in one run, Bot API round trips per
tap, memory with many stored conversations and start-up times. See ``docs/benchmarks.md``.
"""
