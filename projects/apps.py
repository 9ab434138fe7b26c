from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"
    verbose_name = "Projects and API keys"

    def ready(self) -> None:
        from projects import signin

        signin.connect()
