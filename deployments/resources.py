"""Resources for each code location, built from Settings."""

from deployments.settings import Settings
from resources import CloudStoreResource, OnPremStoreResource, PrivacyKeys, TrainingLauncher
from resources.compute import AirGappedLocalRay
from resources.evaluation import EvaluationDatasets, TokenModelFolder
from resources.stores import InboxResource


def cloud_store(settings: Settings) -> CloudStoreResource:
    if settings.cloud_store == "s3":
        return CloudStoreResource(
            kind="s3",
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            access_key_id_ref=settings.s3_access_key_id_ref,
            secret_access_key_ref=settings.s3_secret_access_key_ref,
        )
    return CloudStoreResource(kind="dir", root=str(settings.cloud_root))


def ray_cluster(settings: Settings):
    # Loopback node address: Ray would otherwise probe an outside address to find its own.
    init_options = {
        "include_dashboard": False,
        "log_to_driver": False,
        "_node_ip_address": "127.0.0.1",
        "logging_level": "WARNING",
    }
    if settings.ray_num_cpus:
        init_options["num_cpus"] = settings.ray_num_cpus
    if settings.ray_backend == "local":
        return AirGappedLocalRay(
            ray_init_options=init_options, ray_home=str(settings.onprem_root / "ray")
        )
    if settings.ray_backend == "kuberay":
        from deployments.kuberay import kuberay_cluster

        return kuberay_cluster(init_options)
    raise ValueError(f"HYBRID_RAY_BACKEND={settings.ray_backend!r}; expected local or kuberay")


def edge_resources(settings: Settings) -> dict:
    return {
        "inbox": InboxResource(path=str(settings.inbox)),
        "evaluation": EvaluationDatasets(paths=[str(path) for path in settings.eval_datasets]),
        "token_model": TokenModelFolder(
            path=str(settings.token_model_dir or settings.onprem_root / "models" / "token_model"),
            required=settings.token_model_required,
        ),
        "onprem": OnPremStoreResource(
            root=str(settings.onprem_root), at_rest_key_ref=settings.at_rest_key_ref
        ),
        "cloud": cloud_store(settings),
        "keys": PrivacyKeys(
            pseudonym_key_ref=settings.pseudonym_key_ref, gate_key_ref=settings.gate_key_ref
        ),
        "ray_cluster": ray_cluster(settings),
    }


def cloud_resources(settings: Settings) -> dict:
    return {
        "cloud": cloud_store(settings),
        "trainer": TrainingLauncher(
            mode=settings.training_mode,
            image=settings.training_image,
            gpu_count=settings.training_gpu,
            node_selector=settings.training_node_selector,
            tolerations=settings.training_tolerations,
            kubeconfig=settings.kubeconfig,
            kube_context=settings.kube_context,
        ),
    }
