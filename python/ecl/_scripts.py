"""Console scripts installed by pip: the Rust CLI's code, through the
extension (no second implementation), and an ``ecl_master`` for supervisord
configs written for the original."""
import os
import signal
import sys

from . import _ecl


def ecl() -> None:
    _ecl.run_script("ecl", ["ecl"] + sys.argv[1:])


def ecl_reader() -> None:
    _ecl.run_script("ecl_reader", ["ecl_reader"] + sys.argv[1:])


def ecl_log_event() -> None:
    _ecl.run_script("ecl_log_event", ["ecl_log_event"] + sys.argv[1:])


def ecl_master() -> None:
    """The original needed a master daemon to rotate windows; ECL rotates
    inside Redis. Existing supervisord programs may keep running this: it
    declares the config's groups, checks that the module answers (exit 1
    with a clear message if not), then idles until SIGTERM."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="ecl_master",
        description="Declares the config's ECL groups and idles (ECL rotates windows inside Redis).",
    )
    parser.add_argument("config_file", metavar="CONFIG_FILE")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    from . import Client, EclError

    try:
        client = Client.from_config(args.config_file)
        client.declare()  # and the module answers
    except EclError as e:
        print(f"ecl_master: {e}", file=sys.stderr)
        if "unknown command" in str(e).lower():
            print("ecl_master: the ECL module is not loaded in this Redis "
                  "(redis-server --loadmodule /path/libecl.so)", file=sys.stderr)
        sys.exit(1)
    if args.verbose:
        print("ecl_master: groups declared; windows rotate inside Redis. Idling until SIGTERM.",
              file=sys.stderr)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            signal.pause() if hasattr(signal, "pause") else os.read(0, 1)
    except KeyboardInterrupt:
        sys.exit(0)
