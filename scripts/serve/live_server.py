"""Starts `minigpt serve` on a free port for a test script and stops it with SIGTERM (checking exit 0)."""
import re
import signal
import subprocess
import sys
import threading


class LiveServer:
    def __init__(self, binary, model, *extra):
        self.process = subprocess.Popen([binary, "serve", "--model", model, "--port", "0", *extra],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.log = []
        line = self.process.stderr.readline()
        self.log.append(line)
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"no banner with a URL from minigpt serve: {line!r}")
        self.url = match.group(0)
        # Keep draining stderr so the server never blocks on a full pipe.
        self.reader = threading.Thread(target=lambda: self.log.extend(self.process.stderr), daemon=True)
        self.reader.start()

    def stop(self):
        """SIGTERM, then the exit status must be 0."""
        self.process.send_signal(signal.SIGTERM)
        status = self.process.wait(timeout=60)
        self.reader.join(timeout=5)
        if status != 0:
            raise AssertionError(f"minigpt serve exited with {status} after SIGTERM: {''.join(self.log)}")

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if self.process.poll() is None:
            if kind is None:
                self.stop()
            else:
                self.process.kill()


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def run_checks(main):
    """Runs a check script's main: a failed check prints one FAILED line and exits 1."""
    try:
        main()
    except AssertionError as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
