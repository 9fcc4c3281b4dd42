"""A slow network between the server processes and their Redis."""
import socket
import threading
import time


class DelayingProxy:
    """A TCP proxy on a local port that holds every chunk for `delay` seconds before
    passing it on: a Redis on the far side of a slow network, for the server processes."""

    def __init__(self, target_host, target_port, delay):
        self.target, self.delay = (target_host, target_port), delay
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return                                  # closed
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source, sink):
        try:
            while chunk := source.recv(65536):
                time.sleep(self.delay)                  # the network's latency, not a wait for a condition
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                try:
                    end.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        for sock in self.sockets:
            sock.close()
