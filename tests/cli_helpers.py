"""Running ``mlplab`` in-process for the CLI tests: exit code, stdout, stderr, and the one-line user error."""

from mlplab.cli import main


def cli(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def user_error(capsys, *argv, match):
    """Exit 2, exactly one line on stderr, no traceback, naming ``match``."""
    code, out, err = cli(capsys, *argv)
    assert code == 2, (code, out, err)
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert match in err, err
    return err
