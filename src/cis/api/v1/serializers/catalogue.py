"""The national RBAC catalogue as the API shows it, and the service desk's edits."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


class CatalogueVersionRefSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField(help_text="The catalogue version that last changed it.")
    # DRF's metaclass moves declared fields off the class, so this never shadows Field.label.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The data file's version, or 'edit'."
    )


class _EntrySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="The national RBAC code.")
    name = serializers.CharField(help_text="Its name in the national RBAC database.")
    retired = serializers.BooleanField(
        help_text="Retired: no new position may use it; positions that have it keep it."
    )
    sources = serializers.ListField(
        child=serializers.CharField(),
        help_text="Keys of the sources it was checked against (see versions/ for each source).",
    )
    note = serializers.CharField(help_text="A note from the catalogue ('' if none).")
    positions_using = serializers.IntegerField(help_text="Active positions that carry it.")
    version = CatalogueVersionRefSerializer(allow_null=True, help_text="When it last changed.")


class ActivityEntrySerializer(_EntrySerializer):
    includes = serializers.SerializerMethodField(
        help_text="Codes of the activities this one includes (B0825 includes B0820)."
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_includes(self, entry: Any) -> list[str]:
        return sorted(a.code for a in entry.includes.all())


class JobRoleEntrySerializer(_EntrySerializer):
    full_code = serializers.CharField(
        help_text="sector:group:role (S8000:G8000:R8000), or the R-code alone where no cited "
        "source gives the sector and group."
    )
    sector_code = serializers.CharField(help_text="S-code, or ''.")
    sector_name = serializers.CharField(help_text="The sector's name, or ''.")
    group_code = serializers.CharField(help_text="G-code, or ''.")
    group_name = serializers.CharField(help_text="The group's name, or ''.")
    baseline = serializers.SerializerMethodField(
        help_text="The baseline policy: activity codes the role carries by default."
    )

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_baseline(self, entry: Any) -> list[str]:
        return sorted(a.code for a in entry.baseline_activities.all())


class CatalogueFilterSerializer(serializers.Serializer[Any]):
    q = serializers.CharField(
        required=False, allow_blank=True, max_length=100, help_text="A code, or part of a name."
    )
    include_retired = serializers.BooleanField(
        required=False, default=False, help_text="Also list retired entries."
    )


class _EntryWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, help_text="The name, as NHS England gives it.")
    note = serializers.CharField(default="", allow_blank=True, max_length=500, help_text="A note.")
    sources = serializers.ListField(
        child=serializers.CharField(max_length=60),
        default=list,
        help_text="Keys of the catalogue's sources it was checked against.",
    )


class JobRoleWriteSerializer(_EntryWriteSerializer):
    sector_code = serializers.CharField(
        default="", allow_blank=True, max_length=8, help_text="S-code, e.g. S8000, or ''."
    )
    sector_name = serializers.CharField(
        default="", allow_blank=True, max_length=100, help_text="The sector's name."
    )
    group_code = serializers.CharField(
        default="", allow_blank=True, max_length=8, help_text="G-code, e.g. G8000, or ''."
    )
    group_name = serializers.CharField(
        default="", allow_blank=True, max_length=100, help_text="The group's name."
    )
    baseline = serializers.ListField(
        child=serializers.CharField(max_length=8),
        required=False,
        help_text="The whole baseline (activity codes); leave out to keep it.",
    )


class ActivityWriteSerializer(_EntryWriteSerializer):
    includes = serializers.ListField(
        child=serializers.CharField(max_length=8),
        required=False,
        help_text="Codes of the activities it includes; leave out to keep them.",
    )


class JobRoleCreateSerializer(JobRoleWriteSerializer):
    code = serializers.CharField(max_length=8, help_text="The R-code, e.g. R8000.")


class ActivityCreateSerializer(ActivityWriteSerializer):
    code = serializers.CharField(max_length=8, help_text="The B-code, e.g. B0825.")


class CatalogueRetireSerializer(serializers.Serializer[Any]):
    retired = serializers.BooleanField(
        help_text="true: retire it (no new positions may use it); false: reinstate it."
    )


class CatalogueVersionSerializer(serializers.Serializer[Any]):
    number = serializers.IntegerField(help_text="Versions only go up.")
    # DRF's metaclass moves declared fields off the class, so this never shadows Field.label.
    label = serializers.CharField(  # type: ignore[assignment]
        help_text="The data file's version, or 'edit'."
    )
    made_at = serializers.DateTimeField(help_text="When.")
    made_by_name = serializers.CharField(help_text="Who (or the server console).")
    summary = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="What changed: created, updated, retired, saved, reinstated -> codes.",
    )
    sources = serializers.DictField(
        child=serializers.DictField(child=serializers.CharField()),
        help_text="The sources in force: key -> title, publisher, url.",
    )
