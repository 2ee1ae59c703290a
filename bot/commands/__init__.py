"""The command line's commands, by whom they serve (bot/cli.py parses the arguments): the
channels a practitioner uses (channels.py), the committee's files (files.py), and the service's
data and processes (operations.py)."""
