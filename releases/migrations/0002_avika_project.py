"""Create the first project, hellodk/avika, with the values of its pipeline.

Every value stays editable in the admin afterwards.
"""

from django.db import migrations


def create_avika(apps, schema_editor):
    Project = apps.get_model("releases", "Project")
    Project.objects.get_or_create(
        repository="hellodk/avika",
        defaults={
            "name": "Avika",
            "default_branch": "master",
            "workflow_file": "release.yml",
            "tag_prefix": "v",
            "registry": "docker.io",
            "registry_namespace": "hellodk",
            "image_names": ["avika-gateway", "avika-frontend", "avika-agent"],
            "image_platforms": ["linux/amd64", "linux/arm64"],
            "image_size_budgets_mb": {
                "avika-gateway": [30, 50],
                "avika-frontend": [100, 150],
                "avika-agent": [20, 40],
            },
            "binary_components": ["gateway", "agent"],
            "binary_platforms": [
                "linux/amd64",
                "linux/arm64",
                "darwin/amd64",
                "darwin/arm64",
            ],
            "binary_asset_pattern": "{component}-{os}-{arch}",
            "chart_asset_pattern": "avika-{version}.tgz",
            "checksums_asset": "checksums.txt",
            "version_tag_template": "{version}",
            "minor_tag_template": "{major}.{minor}",
            "latest_tag": "latest",
            "sha_tag_template": "sha-{sha7}",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("releases", "0001_initial")]

    operations = [migrations.RunPython(create_avika, migrations.RunPython.noop)]
