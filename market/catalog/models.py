"""The process taxonomy: what factories can do and on which materials."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class ProcessFamily(SQLModel, table=True):
    __tablename__ = "process_family"

    code: str = Field(primary_key=True, max_length=40)
    name_en: str = Field(max_length=120)
    name_zh: str = Field(max_length=120)
    position: int = Field(default=0)


class Material(SQLModel, table=True):
    __tablename__ = "material"

    code: str = Field(primary_key=True, max_length=40)
    name_en: str = Field(max_length=120)
    name_zh: str = Field(max_length=120)
    category: str = Field(max_length=20)


class Process(SQLModel, table=True):
    __tablename__ = "process"

    code: str = Field(primary_key=True, max_length=40)
    family_code: str = Field(foreign_key="process_family.code", index=True, max_length=40)
    name_en: str = Field(max_length=120)
    name_zh: str = Field(max_length=120)
    unit: str = Field(default="part", max_length=20)
    typical_minutes_per_unit: float = Field(default=1.0)
    typical_setup_minutes: int = Field(default=0)
    typical_rate_per_hour: int = Field(default=0)  # minor units (CNY fen)
    tolerance_mm: float | None = None


class ProcessMaterial(SQLModel, table=True):
    """Materials a process usually works on; a process with none accepts any material."""

    __tablename__ = "process_material"

    process_code: str = Field(foreign_key="process.code", primary_key=True, max_length=40)
    material_code: str = Field(foreign_key="material.code", primary_key=True, max_length=40)
