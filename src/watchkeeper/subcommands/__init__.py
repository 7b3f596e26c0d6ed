"""Subcommands of ``watchkeeper`` beyond ``serve``: each module has ``configure(parser)`` and
``run(args) -> int`` and is listed in ``watchkeeper.cli.COMMANDS``. Heavy imports stay inside
``run`` so that ``--help`` is instant and needs no environment."""
