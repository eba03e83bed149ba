"""[ml2_sdn] options: the SDN controller the journal syncs to, and the journal's pace.

Names and defaults follow networking-odl's ``[ml2_odl]`` so an operator's
ml2_conf.ini carries over.
"""

from __future__ import annotations

from oslo_config import cfg

OPTS = [
    cfg.StrOpt("url", help="Northbound REST root of the SDN controller, e.g. "
                           "http://127.0.0.1:8181/controller/nb/v2/neutron."),
    cfg.StrOpt("username", help="HTTP basic-auth user for the controller."),
    cfg.StrOpt("password", secret=True, help="HTTP basic-auth password for the controller."),
    cfg.FloatOpt("timeout", default=10.0, min=0.1,
                 help="Seconds to wait for the controller to connect or answer."),
    cfg.FloatOpt("sync_timeout", default=10.0, min=0.01,
                 help="Seconds between timer wake-ups of the sync workers (they are also "
                      "woken after every committed change)."),
    cfg.IntOpt("retry_count", default=5, min=0,
               help="Failed attempts (other than connection errors) before a row is "
                    "marked failed."),
    cfg.FloatOpt("maintenance_interval", default=300.0, min=0.1,
                 help="Seconds between maintenance runs (cleanup, stale rows, recovery, "
                      "full sync check)."),
    cfg.IntOpt("completed_rows_retention", default=0, min=-1,
               help="Seconds to keep completed rows: 0 deletes them at once, -1 keeps "
                    "them forever."),
    cfg.FloatOpt("processing_timeout", default=100.0, min=0.1,
                 help="Seconds after which a row still in processing (its worker died) "
                      "is put back to pending. A worker starts sending a claimed row "
                      "only during the first half of this; keep 'timeout' below that "
                      "half, or a slow request may reach the controller twice."),
    cfg.IntOpt("sync_workers", default=2, min=0,
               help="Sync worker threads per server process; 0 records rows but never "
                    "sends them (another process does)."),
    cfg.IntOpt("sync_batch_size", default=50, min=1,
               help="Rows a worker claims in one transaction (rows claimed together never "
                    "depend on each other). Larger batches mean fewer claim transactions "
                    "per row; a row's dependents wait until its whole batch is sent."),
    cfg.BoolOpt("enable_maintenance", default=True,
                help="Run the maintenance thread in this process (a lock row makes "
                     "sure only one server runs it at a time anyway)."),
]


def register(conf: cfg.ConfigOpts) -> None:
    conf.register_opts(OPTS, group="ml2_sdn")
