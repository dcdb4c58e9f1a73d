"""The ``mlplab`` command's entry point, outside the ``mlplab`` package on purpose.

Importing ``mlplab`` (NumPy, SciPy, …) takes a moment; a Ctrl-C or SIGTERM in that moment would
otherwise end in a traceback of the import machinery (or an ImportError, when it lands inside an
extension module's import). Here the signals are taken over before anything heavy is imported:
while the engine loads, an interrupt ends the process at once with one line on stderr and exit
code 130 (Ctrl-C) or 143 (SIGTERM) — nothing has been done yet that needs saving. Then
:func:`mlplab.cli.main` takes over (training saves its best model on either signal).
"""

import os
import signal
import sys

_EXITS = {signal.SIGINT: (b"mlplab: interrupted\n", 130), signal.SIGTERM: (b"mlplab: terminated (SIGTERM)\n", 143)}


def _exit_now(signum, frame):
    message, code = _EXITS[signum]
    try:
        os.write(2, message)
    finally:
        os._exit(code)  # no exception: one raised inside an extension module's import would become an ImportError


def main() -> int:
    for sig in _EXITS:
        try:
            signal.signal(sig, _exit_now)
        except (ValueError, OSError):  # not the main thread
            pass
    from mlplab.cli import main as cli_main

    try:
        signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C is a KeyboardInterrupt again
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # until mlplab.cli.main installs its own
    except (ValueError, OSError):
        pass
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
