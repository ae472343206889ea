"""Running an aiosmtpd server as a process: used by the development SMTP server and by the
notifier's inbound endpoint."""
import signal
import threading

from aiosmtpd.controller import Controller


def serve(handler, host, port, banner, **controller_options):
    """Runs an aiosmtpd `handler` on host:port until SIGTERM or SIGINT (the development server,
    and the notifier's inbound endpoint)."""
    controller = Controller(handler, hostname=host, port=port, **controller_options)
    controller.start()
    print(banner, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()
