"""One flow's collaborators, built from its settings and wiring, started and stopped together."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Engine

from services.flow import db
from services.flow.control import ControlHandler, Dispatcher, PlanCache
from services.flow.deploy import ModelDeployer
from services.flow.jobstore import JobStore
from services.flow.modelstore import ModelStore
from services.flow.predict import PredictPlanner
from services.flow.scheduler import Scheduler
from services.flow.settings import FlowSettings
from services.flow.submit import JobSubmitter
from services.flow.tablestore import TableStore
from services.flow.wiring import FlowWiring

log = logging.getLogger(__name__)


@dataclass
class FlowRuntime:
    """Everything a flow app uses; kept on ``app.state.runtime``."""

    settings: FlowSettings
    wiring: FlowWiring
    engine: Engine
    jobs: JobStore
    tables: TableStore
    models: ModelStore
    plans: PlanCache
    handler: ControlHandler
    dispatcher: Dispatcher
    scheduler: Scheduler
    submitter: JobSubmitter
    deployer: ModelDeployer

    @classmethod
    def build(cls, settings: FlowSettings, wiring: FlowWiring) -> FlowRuntime:
        """Create (but do not start) the runtime."""
        engine = db.make_engine(settings.db_url)
        sessions = db.make_sessions(engine)
        jobs = JobStore(sessions)
        tables = TableStore(sessions, settings.data_dir)
        models = ModelStore(sessions, settings.data_dir)
        plans = PlanCache(PredictPlanner(wiring.planner, models, settings.party_id))
        handler = ControlHandler(settings, jobs, tables, plans, wiring.queue, models)
        dispatcher = Dispatcher(settings.party_id, handler, wiring.channel)
        scheduler = Scheduler(settings, jobs, plans, handler, dispatcher)
        submitter = JobSubmitter(settings, jobs, tables, plans, dispatcher, scheduler)
        deployer = ModelDeployer(settings.party_id, models, dispatcher)
        return cls(
            settings,
            wiring,
            engine,
            jobs,
            tables,
            models,
            plans,
            handler,
            dispatcher,
            scheduler,
            submitter,
            deployer,
        )

    def start(self) -> None:
        """Migrate the database, recover from a restart, start the executor and the scheduler.

        Jobs this party initiated resume where their task rows say they were. With a queue that
        does not survive restarts, tasks handed to it before the restart are failed ("the flow
        restarted ..."), which fails their jobs through the normal aggregation.
        """
        db.upgrade(self.settings.db_url)
        if not self.wiring.queue_survives_restart:
            self.handler.fail_lost_tasks()
        if self.wiring.executor is not None:
            self.wiring.executor.start()
        self.scheduler.start()
        log.info("flow of party %s started", self.settings.party_id)

    def stop(self) -> None:
        """Stop the scheduler and the executor, then close the database."""
        self.scheduler.stop()
        if self.wiring.executor is not None:
            self.wiring.executor.stop()
        self.engine.dispose()
