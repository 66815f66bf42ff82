"""Which Ray channel carries a remote run's records to the driver: an actor the worker reports to,
a ``ray.util.queue.Queue``, or a streaming generator (the object store). A task plays a training:
a small record every ``--every`` seconds (batch lines), a ``--checkpoint-kb`` file every 10th;
the driver polls as the run follower does. Figures: what one report costs the worker (its
training thread waits that long), and how long a record takes to reach the driver.

    python -m benchmarks ray channel [--records 200] [--every 0.02] [--checkpoint-kb 600]
"""

from __future__ import annotations

import argparse
import statistics
import time

POLL_S = 0.1  # how often the driver asks the actor or the queue


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks ray channel", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--every", type=float, default=0.02)
    parser.add_argument("--checkpoint-kb", type=int, default=600)
    args = parser.parse_args(argv)
    import ray

    from dae_core.training.ray_cluster import start_local_cluster

    start_local_cluster(num_cpus=2)
    try:
        figures = {name: measure(args) for name, measure in
                   (("actor", _actor), ("queue", _queue), ("generator", _generator))}
    finally:
        ray.shutdown()
    for name, (cost, latency) in figures.items():
        print(f"{name:>9}: worker cost per record median {statistics.median(cost) * 1e3:.2f} ms "
              f"(max {max(cost) * 1e3:.1f}); to the driver median {statistics.median(latency) * 1e3:.0f} ms "
              f"(95th {sorted(latency)[int(len(latency) * 0.95)] * 1e3:.0f})")
    return figures


def _records(args):
    """What a training reports: (index, bytes) — a checkpoint's bytes every 10th record."""
    blob = b"x" * (args.checkpoint_kb * 1024)
    for i in range(args.records):
        yield i, blob if i % 10 == 9 else b""


def _actor(args):
    import ray

    @ray.remote(num_cpus=0)
    class Inbox:
        def __init__(self):
            self.items = []

        def push(self, item):
            self.items.append(item)

        def drain(self):
            items, self.items = self.items, []
            return items

    @ray.remote(num_cpus=1)
    def report(inbox, args):
        costs = []
        for i, blob in _records(args):
            start = time.time()
            inbox.push.remote((i, start, blob))  # fire and forget: Ray keeps one caller's calls in order
            costs.append(time.time() - start)
            time.sleep(args.every)
        return costs

    inbox = Inbox.remote()
    return _follow(report.remote(inbox, args), lambda: ray.get(inbox.drain.remote()), args)


def _queue(args):
    import ray
    from ray.util.queue import Queue

    @ray.remote(num_cpus=1)
    def report(queue, args):
        costs = []
        for i, blob in _records(args):
            start = time.time()
            queue.put_nowait((i, start, blob))
            costs.append(time.time() - start)
            time.sleep(args.every)
        return costs

    queue = Queue()
    return _follow(report.remote(queue, args), lambda: queue.get_nowait_batch(queue.qsize()), args)


def _follow(task, drain, args):
    import ray

    latency, seen = [], 0
    while seen < args.records:
        for _, sent, _ in drain():
            latency.append(time.time() - sent)
            seen += 1
        time.sleep(POLL_S)
    return ray.get(task), latency


def _generator(args):
    import ray

    @ray.remote(num_cpus=1)
    def report(args):
        cost = 0.0  # each record carries what the yield before it cost
        for i, blob in _records(args):
            start = time.time()
            yield i, start, blob, cost
            cost = time.time() - start
            time.sleep(args.every)

    costs, latency = [], []
    for ref in report.options(num_returns="streaming").remote(args):
        i, sent, _, cost = ray.get(ref)
        latency.append(time.time() - sent)
        costs.append(cost)
    return costs, latency


if __name__ == "__main__":
    main()
