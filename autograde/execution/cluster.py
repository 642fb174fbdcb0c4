"""The coordinator's dask cluster: started first thing, in the background, so that the
workers import and warm up while the coordinator takes the submissions in.

A LocalCluster (one single-threaded worker process per core by default) speaks TLS
with a temporary certificate that only the coordinator and its workers hold, on
loopback, so nobody else on the machine can reach it; learners' kernels have no network
at all. A worker that dies is restarted by its nanny; the scheduler gives its notebook
to another worker once (``allowed-failures``) and then reports it lost.
"""
from __future__ import annotations

import concurrent.futures
import logging
import os


def start_cluster(workers: int, scheduler: str | None, memory: int | None = None):
    """(client, cluster or None): a TLS LocalCluster of ``workers`` processes (0: one per
    core), or a client of the cluster at ``scheduler``."""
    import dask
    from dask.distributed import Client, LocalCluster

    if scheduler:
        return Client(scheduler, timeout=60), None
    for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.core",
                 "distributed.worker"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # not daemonic: a worker starts the processes of its bounded steps (autograde.execution.budget);
    # it still ends with the coordinator (workers._watch_parent)
    dask.config.set({"distributed.scheduler.allowed-failures": 1, "distributed.worker.daemon": False})
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None, memory_limit=memory or 0, security=True,
                           silence_logs=logging.ERROR, preload=["autograde.execution.workers"])
    return Client(cluster), cluster


def start_in_background(workers: int, scheduler: str | None, memory: int | None = None) -> concurrent.futures.Future:
    """Start the cluster in a thread; the future gives (client, cluster or None). ``memory``:
    bytes each worker may use before its nanny restarts it."""
    pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cluster-start")
    future = pool.submit(start_cluster, workers, scheduler, memory)
    pool.shutdown(wait=False)
    return future


def stop(client, cluster) -> None:
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()
