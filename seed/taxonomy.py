"""Manufacturing taxonomy: process families, materials, processes and routing templates.

Pure data (standard library only). The app's seeding code turns these lists into rows.

Conventions
-----------
* ``code`` values are stable identifiers (snake_case ASCII); other modules refer to them.
* Money is integer CNY fen: ``typical_rate_per_hour = 15000`` means 150.00 CNY per machine
  hour (plausible Chinese shop rates for 2026, before VAT).
* ``unit`` is what one unit of work content is counted in. Every process here uses
  ``"part"``: one finished piece as the buyer orders it (one machined part, one bent bracket,
  one populated board, one sewn garment or bag, one inspected part). Work content is then
  ``typical_minutes_per_unit`` minutes of machine/station time per unit, plus a one-off
  ``typical_setup_minutes`` per batch.
* ``tolerance_mm`` is the typical achievable dimensional tolerance (+/- mm). For finishing it
  is the typical coating/film thickness variation; for inspection it is the measurement
  uncertainty; for assembly, testing and textiles it is a nominal positional figure.
* ``materials`` lists the material codes a process usually works on; an empty list means the
  process accepts any material (inspection, assembly, packaging).
"""

# Hand-aligned data tables: keep the formatter away.
# fmt: off
FAMILIES: list[dict] = [
    {"code": "machining", "name_en": "Machining", "name_zh": "机加工"},
    {"code": "sheet_metal", "name_en": "Sheet metal & welding", "name_zh": "钣金与焊接"},
    {"code": "moulding", "name_en": "Moulding & casting", "name_zh": "注塑与压铸"},
    {"code": "additive", "name_en": "Additive manufacturing", "name_zh": "增材制造（3D打印）"},
    {"code": "finishing", "name_en": "Surface finishing", "name_zh": "表面处理"},
    {"code": "heat_treatment", "name_en": "Heat treatment", "name_zh": "热处理"},
    {"code": "electronics", "name_en": "Electronics assembly", "name_zh": "电子组装"},
    {"code": "assembly", "name_en": "Assembly & packaging", "name_zh": "装配与包装"},
    {"code": "textiles", "name_en": "Textiles & sewing", "name_zh": "纺织缝制"},
    {"code": "inspection", "name_en": "Inspection & metrology", "name_zh": "检测与计量"},
]

MATERIALS: list[dict] = [
    # --- metals ---
    {"code": "al6061", "name_en": "Aluminium 6061-T6", "name_zh": "铝合金 6061-T6",
     "category": "metal"},
    {"code": "al7075", "name_en": "Aluminium 7075-T651", "name_zh": "铝合金 7075-T651",
     "category": "metal"},
    {"code": "al5052", "name_en": "Aluminium 5052-H32 sheet", "name_zh": "铝板 5052-H32",
     "category": "metal"},
    {"code": "al6063", "name_en": "Aluminium 6063-T5 extrusion", "name_zh": "铝型材 6063-T5",
     "category": "metal"},
    {"code": "alsi10mg", "name_en": "AlSi10Mg aluminium powder", "name_zh": "铝合金粉末 AlSi10Mg",
     "category": "metal"},
    {"code": "adc12", "name_en": "Die-casting aluminium ADC12", "name_zh": "压铸铝合金 ADC12",
     "category": "metal"},
    {"code": "zamak3", "name_en": "Zinc alloy Zamak 3", "name_zh": "锌合金 Zamak 3（3#锌合金）",
     "category": "metal"},
    {"code": "ss303", "name_en": "Stainless steel 303 (free-machining)",
     "name_zh": "不锈钢 303（Y12Cr18Ni9）", "category": "metal"},
    {"code": "ss304", "name_en": "Stainless steel 304", "name_zh": "不锈钢 304（06Cr19Ni10）",
     "category": "metal"},
    {"code": "ss316", "name_en": "Stainless steel 316L", "name_zh": "不锈钢 316L（022Cr17Ni12Mo2）",
     "category": "metal"},
    {"code": "ss420", "name_en": "Stainless steel 420 (martensitic)",
     "name_zh": "不锈钢 420（20Cr13）", "category": "metal"},
    {"code": "steel_q235", "name_en": "Structural steel Q235", "name_zh": "碳素结构钢 Q235",
     "category": "metal"},
    {"code": "steel_45", "name_en": "Carbon steel 45# (AISI 1045)", "name_zh": "45号钢（中碳钢）",
     "category": "metal"},
    {"code": "steel_40cr", "name_en": "Alloy steel 40Cr (AISI 5140)", "name_zh": "合金结构钢 40Cr",
     "category": "metal"},
    {"code": "steel_cr12mov", "name_en": "Tool steel Cr12MoV (~AISI D2)",
     "name_zh": "模具钢 Cr12MoV", "category": "metal"},
    {"code": "steel_spcc", "name_en": "Cold-rolled steel sheet SPCC", "name_zh": "冷轧钢板 SPCC",
     "category": "metal"},
    {"code": "steel_secc", "name_en": "Electro-galvanised steel sheet SECC",
     "name_zh": "电解镀锌钢板 SECC", "category": "metal"},
    {"code": "brass_h62", "name_en": "Brass H62 (CuZn37)", "name_zh": "黄铜 H62",
     "category": "metal"},
    {"code": "copper_t2", "name_en": "Copper T2 (C11000)", "name_zh": "紫铜 T2",
     "category": "metal"},
    {"code": "titanium_tc4", "name_en": "Titanium TC4 (Ti-6Al-4V)", "name_zh": "钛合金 TC4",
     "category": "metal"},
    {"code": "in718", "name_en": "Nickel alloy Inconel 718 (GH4169)",
     "name_zh": "高温合金 GH4169（Inconel 718）", "category": "metal"},
    # --- plastics ---
    {"code": "abs", "name_en": "ABS", "name_zh": "ABS 工程塑料", "category": "plastic"},
    {"code": "pc", "name_en": "Polycarbonate (PC)", "name_zh": "聚碳酸酯 PC",
     "category": "plastic"},
    {"code": "pa6", "name_en": "Nylon PA6", "name_zh": "尼龙 PA6", "category": "plastic"},
    {"code": "pa66_gf30", "name_en": "Nylon PA66 + 30% glass fibre", "name_zh": "尼龙 PA66+30%玻纤",
     "category": "plastic"},
    {"code": "pa12", "name_en": "Nylon PA12", "name_zh": "尼龙 PA12", "category": "plastic"},
    {"code": "pom", "name_en": "Acetal (POM)", "name_zh": "聚甲醛 POM（赛钢）",
     "category": "plastic"},
    {"code": "pp", "name_en": "Polypropylene (PP)", "name_zh": "聚丙烯 PP", "category": "plastic"},
    {"code": "pe", "name_en": "Polyethylene (HDPE)", "name_zh": "高密度聚乙烯 HDPE",
     "category": "plastic"},
    {"code": "pmma", "name_en": "Acrylic (PMMA)", "name_zh": "亚克力 PMMA", "category": "plastic"},
    {"code": "peek", "name_en": "PEEK", "name_zh": "聚醚醚酮 PEEK", "category": "plastic"},
    {"code": "tpu", "name_en": "TPU (Shore 85A-95A)", "name_zh": "热塑性聚氨酯 TPU",
     "category": "plastic"},
    {"code": "pla", "name_en": "PLA filament", "name_zh": "聚乳酸 PLA 线材", "category": "plastic"},
    {"code": "petg", "name_en": "PETG filament", "name_zh": "PETG 线材", "category": "plastic"},
    {"code": "resin_photopolymer", "name_en": "Photopolymer resin (ABS-like)",
     "name_zh": "光敏树脂（类ABS）", "category": "plastic"},
    {"code": "pu_resin", "name_en": "Polyurethane casting resin", "name_zh": "聚氨酯复模树脂",
     "category": "plastic"},
    {"code": "silicone_lsr", "name_en": "Liquid silicone rubber (LSR)", "name_zh": "液态硅胶 LSR",
     "category": "plastic"},
    # --- composites ---
    {"code": "cfrp", "name_en": "Carbon fibre plate (3K twill, epoxy)",
     "name_zh": "碳纤维板（3K斜纹）", "category": "composite"},
    {"code": "g10", "name_en": "Glass-epoxy laminate G10", "name_zh": "环氧玻纤板 G10",
     "category": "composite"},
    # --- PCB substrates ---
    {"code": "fr4", "name_en": "FR-4 PCB (Tg 170)", "name_zh": "FR-4 电路板（Tg170）",
     "category": "pcb"},
    {"code": "rogers_4350b", "name_en": "Rogers RO4350B high-frequency PCB",
     "name_zh": "罗杰斯 RO4350B 高频板", "category": "pcb"},
    {"code": "aluminium_pcb", "name_en": "Aluminium-core PCB (MCPCB)", "name_zh": "铝基板",
     "category": "pcb"},
    {"code": "polyimide_flex", "name_en": "Polyimide flexible PCB (FPC)",
     "name_zh": "聚酰亚胺柔性板（FPC）", "category": "pcb"},
    # --- textiles ---
    {"code": "cotton", "name_en": "Cotton fabric", "name_zh": "棉布", "category": "textile"},
    {"code": "polyester", "name_en": "Polyester fabric", "name_zh": "涤纶面料",
     "category": "textile"},
    {"code": "nylon_fabric", "name_en": "Nylon fabric (ripstop / Cordura-type)",
     "name_zh": "尼龙面料（锦纶）", "category": "textile"},
    {"code": "leather", "name_en": "Cowhide leather", "name_zh": "牛皮革", "category": "textile"},
]

# Handy material groups (plain lists, used below).
_ALUMINIUM = ["al6061", "al7075", "al5052", "al6063"]
_STAINLESS = ["ss303", "ss304", "ss316", "ss420"]
_STEELS = ["steel_q235", "steel_45", "steel_40cr", "steel_cr12mov"]
_SHEET = ["steel_spcc", "steel_secc", "steel_q235", "ss304", "ss316", "al5052", "al6061",
          "brass_h62", "copper_t2"]
_MACHINABLE_METALS = _ALUMINIUM + _STAINLESS + _STEELS + ["brass_h62", "copper_t2",
                                                          "titanium_tc4"]
_MACHINABLE_PLASTICS = ["abs", "pc", "pa6", "pa66_gf30", "pom", "pp", "pe", "pmma", "peek"]
_MOULDING_PLASTICS = ["abs", "pc", "pa6", "pa66_gf30", "pa12", "pom", "pp", "pe", "pmma",
                      "peek", "tpu"]
_PCB = ["fr4", "rogers_4350b", "aluminium_pcb", "polyimide_flex"]
_TEXTILES = ["cotton", "polyester", "nylon_fabric", "leather"]
_ANY: list[str] = []


def _p(code: str, name_en: str, name_zh: str, family: str, materials: list[str],
       minutes: float, setup: int, rate: int, tol: float) -> dict:
    return {
        "code": code,
        "name_en": name_en,
        "name_zh": name_zh,
        "family": family,
        "unit": "part",
        "materials": list(materials),
        "typical_minutes_per_unit": minutes,
        "typical_setup_minutes": setup,
        "typical_rate_per_hour": rate,
        "tolerance_mm": tol,
    }


PROCESSES: list[dict] = [
    # --- machining ---
    _p("cnc_milling", "CNC milling (3-axis)", "数控铣削（三轴）", "machining",
       _MACHINABLE_METALS + _MACHINABLE_PLASTICS + ["cfrp", "g10"], 6.0, 45, 15000, 0.02),
    _p("cnc_5axis_milling", "CNC milling (5-axis simultaneous)", "五轴联动数控铣削", "machining",
       ["al6061", "al7075", "ss304", "ss316", "steel_45", "steel_40cr", "titanium_tc4",
        "in718", "peek"], 15.0, 90, 40000, 0.01),
    _p("cnc_turning", "CNC turning", "数控车削", "machining",
       _ALUMINIUM + _STAINLESS + _STEELS + ["brass_h62", "copper_t2", "titanium_tc4", "pom",
                                            "pa6", "peek"], 4.0, 30, 10000, 0.01),
    _p("edm_wire", "Wire EDM", "慢走丝线切割", "machining",
       _ALUMINIUM + _STAINLESS + _STEELS + ["brass_h62", "copper_t2", "titanium_tc4", "in718"],
       30.0, 30, 9000, 0.005),
    _p("surface_grinding", "Surface grinding", "平面磨削", "machining",
       _STAINLESS + _STEELS + ["titanium_tc4"], 10.0, 20, 9000, 0.003),
    _p("cylindrical_grinding", "Cylindrical grinding", "外圆磨削", "machining",
       _STAINLESS + _STEELS + ["titanium_tc4"], 6.0, 30, 10000, 0.003),
    # --- sheet metal & welding ---
    _p("laser_cutting", "Fibre laser cutting", "光纤激光切割", "sheet_metal", _SHEET,
       1.5, 15, 25000, 0.1),
    _p("plasma_cutting", "CNC plasma cutting", "数控等离子切割", "sheet_metal",
       ["steel_q235", "steel_45", "ss304", "ss316", "al5052"], 3.0, 15, 15000, 0.5),
    _p("cnc_punching", "CNC turret punching", "数控转塔冲床冲压", "sheet_metal",
       ["steel_spcc", "steel_secc", "ss304", "al5052", "brass_h62", "copper_t2"],
       1.5, 30, 15000, 0.1),
    _p("press_brake_bending", "CNC press-brake bending", "数控折弯", "sheet_metal", _SHEET,
       2.0, 20, 10000, 0.2),
    _p("stamping", "Progressive-die stamping", "连续模冲压", "sheet_metal",
       ["steel_spcc", "steel_secc", "steel_q235", "ss304", "al5052", "brass_h62", "copper_t2"],
       0.05, 90, 20000, 0.05),
    _p("mig_welding", "MIG/MAG welding", "气体保护焊（MIG/MAG）", "sheet_metal",
       ["steel_q235", "steel_spcc", "steel_45", "ss304", "al5052", "al6061"],
       5.0, 30, 8000, 0.5),
    _p("tig_welding", "TIG welding", "氩弧焊（TIG）", "sheet_metal",
       ["ss304", "ss316", "al5052", "al6061", "steel_q235", "titanium_tc4", "copper_t2"],
       8.0, 30, 10000, 0.3),
    _p("spot_welding", "Resistance spot welding", "电阻点焊", "sheet_metal",
       ["steel_spcc", "steel_secc", "ss304", "al5052"], 0.5, 15, 6000, 0.5),
    # --- moulding & casting ---
    _p("injection_moulding", "Plastic injection moulding", "注塑成型", "moulding",
       _MOULDING_PLASTICS, 0.5, 120, 12000, 0.05),
    _p("overmoulding", "Overmoulding / two-shot moulding", "包胶注塑 / 双色注塑", "moulding",
       ["tpu", "silicone_lsr", "abs", "pc", "pa6", "pa66_gf30", "pp"], 0.8, 150, 18000, 0.1),
    _p("die_casting", "High-pressure die casting", "高压压铸", "moulding",
       ["adc12", "zamak3"], 1.0, 180, 30000, 0.1),
    _p("vacuum_casting", "Vacuum casting (silicone mould)", "真空复模", "moulding",
       ["pu_resin", "silicone_lsr"], 45.0, 240, 8000, 0.15),
    # --- additive ---
    _p("sls_printing", "SLS nylon printing", "SLS 尼龙粉末烧结", "additive",
       ["pa12", "tpu"], 20.0, 60, 20000, 0.2),
    _p("fdm_printing", "FDM printing", "FDM 熔融沉积打印", "additive",
       ["pla", "abs", "petg", "pc", "tpu", "pa6"], 90.0, 10, 3000, 0.3),
    _p("sla_printing", "SLA resin printing", "SLA 光固化打印", "additive",
       ["resin_photopolymer"], 30.0, 20, 6000, 0.1),
    _p("slm_metal_printing", "SLM metal printing", "SLM 金属激光熔化打印", "additive",
       ["alsi10mg", "ss316", "titanium_tc4", "in718"], 120.0, 120, 60000, 0.1),
    # --- finishing ---
    _p("deburring", "Deburring & edge breaking", "去毛刺倒角", "finishing",
       _MACHINABLE_METALS + ["adc12", "zamak3", "steel_spcc", "steel_secc"], 1.5, 10, 4500,
       0.1),
    _p("anodizing", "Anodizing (Type II / hard)", "阳极氧化（普通/硬质）", "finishing",
       _ALUMINIUM + ["alsi10mg", "titanium_tc4"], 0.8, 60, 12000, 0.01),
    _p("powder_coating", "Powder coating", "静电粉末喷涂", "finishing",
       ["steel_spcc", "steel_secc", "steel_q235", "al5052", "al6061", "al6063", "adc12",
        "zamak3", "ss304"], 2.5, 45, 15000, 0.05),
    _p("electroplating", "Electroplating (Zn / Ni / Cr)", "电镀（镀锌/镍/铬）", "finishing",
       ["steel_q235", "steel_45", "steel_40cr", "steel_spcc", "brass_h62", "copper_t2",
        "zamak3", "ss304", "abs"], 0.6, 60, 15000, 0.005),
    _p("sandblasting", "Sand / bead blasting", "喷砂", "finishing",
       _MACHINABLE_METALS + ["adc12", "zamak3", "alsi10mg", "in718", "pa12"], 1.5, 10, 6000,
       0.05),
    _p("painting", "Spray painting", "喷漆", "finishing",
       ["steel_spcc", "steel_q235", "al6061", "al5052", "adc12", "zamak3", "abs", "pc",
        "pa6", "cfrp"], 3.0, 45, 10000, 0.05),
    # --- heat treatment ---
    _p("heat_treatment", "Quench & temper / annealing / ageing", "淬火回火 / 退火 / 时效",
       "heat_treatment",
       ["steel_45", "steel_40cr", "steel_cr12mov", "ss304", "ss316", "ss420", "al6061",
        "al7075", "titanium_tc4"], 2.0, 60, 8000, 0.05),
    _p("vacuum_hardening", "Vacuum hardening", "真空淬火", "heat_treatment",
       ["steel_cr12mov", "steel_40cr", "steel_45", "ss420", "titanium_tc4", "in718"],
       3.0, 90, 15000, 0.02),
    _p("nitriding", "Gas nitriding", "气体渗氮", "heat_treatment",
       ["steel_40cr", "steel_45", "steel_cr12mov", "ss420"], 3.0, 90, 10000, 0.01),
    # --- electronics ---
    _p("smt_assembly", "SMT assembly (pick-and-place + reflow)", "SMT 贴片（贴装+回流焊）",
       "electronics", _PCB, 1.5, 120, 40000, 0.05),
    _p("through_hole_soldering", "Through-hole soldering (wave / selective / hand)",
       "插件焊接（波峰焊/选择焊/手焊）", "electronics", ["fr4", "rogers_4350b"], 3.0, 60, 6000,
       0.2),
    _p("pcb_testing", "PCBA testing (AOI / ICT / flying probe / functional)",
       "PCBA 测试（AOI/ICT/飞针/功能）", "electronics", _PCB, 1.0, 90, 10000, 0.1),
    _p("conformal_coating", "Conformal coating", "三防漆涂覆", "electronics", _PCB,
       1.0, 45, 8000, 0.05),
    # --- assembly & packaging ---
    _p("manual_assembly", "Manual assembly", "人工装配", "assembly", _ANY, 5.0, 30, 4500, 0.1),
    _p("ultrasonic_welding", "Ultrasonic plastic welding", "超声波塑料焊接", "assembly",
       ["abs", "pc", "pp", "pa6", "pe", "pmma"], 0.3, 60, 6000, 0.1),
    _p("packaging", "Packaging & kitting", "包装与配套", "assembly", _ANY, 0.5, 15, 3500, 1.0),
    # --- textiles ---
    _p("fabric_cutting", "CNC fabric cutting", "数控裁床裁剪", "textiles", _TEXTILES,
       0.8, 30, 6000, 0.5),
    _p("sewing", "Industrial sewing", "工业缝制", "textiles", _TEXTILES, 25.0, 60, 3500, 1.0),
    _p("embroidery", "Machine embroidery", "电脑刺绣", "textiles", _TEXTILES, 6.0, 30, 5000,
       0.5),
    # --- inspection ---
    _p("cmm_inspection", "CMM inspection", "三坐标测量", "inspection", _ANY, 15.0, 30, 20000,
       0.002),
    _p("first_article_inspection", "First article inspection (FAI report)", "首件检验（FAI 报告）",
       "inspection", _ANY, 60.0, 30, 25000, 0.005),
]

ROUTING_TEMPLATES: list[dict] = [
    {
        "code": "machined_al_anodized",
        "name_en": "Machined aluminium part, anodized",
        "name_zh": "铝合金机加工件（阳极氧化）",
        "operations": [
            {"process": "cnc_milling", "material": "al6061", "minutes_per_unit": 6.0,
             "tolerance_mm": 0.05},
            {"process": "deburring", "material": "al6061", "minutes_per_unit": 1.5,
             "tolerance_mm": 0.1},
            {"process": "anodizing", "material": "al6061", "minutes_per_unit": 0.8,
             "tolerance_mm": 0.02},
            {"process": "cmm_inspection", "material": "al6061", "minutes_per_unit": 10.0,
             "tolerance_mm": 0.01},
        ],
    },
    {
        "code": "sheet_metal_enclosure",
        "name_en": "Sheet-metal enclosure, welded and powder coated",
        "name_zh": "钣金机箱（焊接、喷粉）",
        "operations": [
            {"process": "laser_cutting", "material": "steel_spcc", "minutes_per_unit": 2.0,
             "tolerance_mm": 0.1},
            {"process": "press_brake_bending", "material": "steel_spcc", "minutes_per_unit": 3.0,
             "tolerance_mm": 0.2},
            {"process": "mig_welding", "material": "steel_spcc", "minutes_per_unit": 6.0,
             "tolerance_mm": 0.5},
            {"process": "powder_coating", "material": "steel_spcc", "minutes_per_unit": 3.0,
             "tolerance_mm": 0.08},
            {"process": "manual_assembly", "material": "steel_spcc", "minutes_per_unit": 8.0,
             "tolerance_mm": 0.5},
        ],
    },
    {
        "code": "moulded_part_assembled",
        "name_en": "Injection-moulded part with assembly and packaging",
        "name_zh": "注塑件（装配、包装）",
        "operations": [
            {"process": "injection_moulding", "material": "abs", "minutes_per_unit": 0.5,
             "tolerance_mm": 0.05},
            {"process": "manual_assembly", "material": "abs", "minutes_per_unit": 2.0,
             "tolerance_mm": 0.1},
            {"process": "packaging", "material": "abs", "minutes_per_unit": 0.5,
             "tolerance_mm": 1.0},
        ],
    },
    {
        "code": "pcb_assembly",
        "name_en": "PCB assembly (SMT + through-hole, tested)",
        "name_zh": "PCBA 电路板组装（贴片+插件，含测试）",
        "operations": [
            {"process": "smt_assembly", "material": "fr4", "minutes_per_unit": 1.5,
             "tolerance_mm": 0.05},
            {"process": "through_hole_soldering", "material": "fr4", "minutes_per_unit": 3.0,
             "tolerance_mm": 0.2},
            {"process": "pcb_testing", "material": "fr4", "minutes_per_unit": 1.0,
             "tolerance_mm": 0.1},
        ],
    },
    {
        "code": "turned_ss_shaft_hardened",
        "name_en": "Turned stainless shaft, hardened and ground",
        "name_zh": "不锈钢车削轴（淬火、磨削）",
        "operations": [
            {"process": "cnc_turning", "material": "ss420", "minutes_per_unit": 5.0,
             "tolerance_mm": 0.02},
            {"process": "heat_treatment", "material": "ss420", "minutes_per_unit": 2.0,
             "tolerance_mm": 0.05},
            {"process": "cylindrical_grinding", "material": "ss420", "minutes_per_unit": 6.0,
             "tolerance_mm": 0.005},
            {"process": "cmm_inspection", "material": "ss420", "minutes_per_unit": 8.0,
             "tolerance_mm": 0.002},
        ],
    },
    {
        "code": "sls_nylon_prototype",
        "name_en": "SLS nylon prototype, bead blasted",
        "name_zh": "SLS 尼龙手板（喷砂）",
        "operations": [
            {"process": "sls_printing", "material": "pa12", "minutes_per_unit": 20.0,
             "tolerance_mm": 0.2},
            {"process": "sandblasting", "material": "pa12", "minutes_per_unit": 3.0,
             "tolerance_mm": 0.1},
            {"process": "first_article_inspection", "material": "pa12", "minutes_per_unit": 30.0,
             "tolerance_mm": 0.05},
        ],
    },
]
# fmt: on
