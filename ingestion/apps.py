from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"
    verbose_name = "Ingestion"

    def ready(self) -> None:
        # A GEOIP_DATABASE that cannot be read stops every process at start, in one line
        # (manage.py prints ImproperlyConfigured so), rather than leaving cities empty unnoticed.
        from ingestion.enrichment import geoip_check

        geoip_check()
