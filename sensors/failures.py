"""Records run failures without their content: job, run id and error class only."""

import dagster as dg


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def run_failure_recorder(context: dg.RunFailureSensorContext) -> None:
    """Logs one line per failed run; exception messages are left out, they could carry data."""
    error = context.failure_event.event_specific_data
    error_class = getattr(getattr(error, "error", None), "cls_name", None) or "unknown"
    context.log.error(
        f"run {context.dagster_run.run_id} of job {context.dagster_run.job_name} "
        f"failed ({error_class})"
    )
