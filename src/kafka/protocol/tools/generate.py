#!/usr/bin/env python3
"""Generates the C++ Kafka message types from our schema files.

Run by CMake:  generate.py OUT_DIR SCHEMA...

Writes:
  messages.h           every message struct (<snake>_data), the <api>_api traits,
                       the all_apis type list and the api table.
  messages_<n>.cc      encode/decode/fill_sample definitions, split in a few files
                       so a 2-core build compiles them in parallel.
  round_trip_test.cc   a GoogleTest per message covering every version.

Schema notation (one message per file, indentation = nesting, two spaces):
  request|response|data <Name> [key=<n>] versions=<lo>-<hi> flexible=<v+|none>
  field <snake_name> <type> versions=<range> [nullable=<range>] [tag=<n> tagged=<range>]
        [default=<value>] [ignorable]
  common <StructName> versions=<range>       (followed by indented fields)
Types: bool int8 int16 uint16 int32 uint32 int64 float64 uuid string bytes records,
<StructName> (inline struct; its fields follow, indented), []<type>.
Nested struct types keep the schema's CamelCase names (they mirror the wire
schema, and a field is often named like its type); messages and members are
snake_case.
"""
import os
import re
import sys

PRIMITIVES = {
    "bool": ("bool", "boolean", "false"),
    "int8": ("int8_t", "i8", "0"),
    "int16": ("int16_t", "i16", "0"),
    "uint16": ("uint16_t", "u16", "0"),
    "int32": ("int32_t", "i32", "0"),
    "uint32": ("uint32_t", "u32", "0"),
    "int64": ("int64_t", "i64", "0"),
    "float64": ("double", "f64", "0.0"),
    "uuid": ("protocol::uuid", "uuid", None),
}
CPP_KEYWORDS = {"default", "operator", "class", "template", "register", "delete", "new", "namespace", "union",
                "private", "public", "protected", "this", "throw", "try", "catch", "typename", "virtual"}
MAX_VERSION = 0x7FFF


class VRange:
    def __init__(self, spec):
        spec = (spec or "none").strip()
        if spec == "none":
            self.lo, self.hi = 1, 0
        elif spec.endswith("+"):
            self.lo, self.hi = int(spec[:-1]), MAX_VERSION
        elif "-" in spec:
            self.lo, self.hi = map(int, spec.split("-"))
        else:
            self.lo = self.hi = int(spec)

    def empty(self):
        return self.lo > self.hi

    def contains(self, v):
        return self.lo <= v <= self.hi

    def cond(self, var="v"):
        """A C++ condition for `var in range`, or 'true'/'false'."""
        if self.empty():
            return "false"
        parts = []
        if self.lo > 0:
            parts.append(f"{var} >= {self.lo}")
        if self.hi < MAX_VERSION:
            parts.append(f"{var} <= {self.hi}")
        return " && ".join(parts) if parts else "true"


class Field:
    def __init__(self, name, type_, attrs):
        self.name = name if name not in CPP_KEYWORDS else name + "_"
        self.type = type_
        self.versions = VRange(attrs.get("versions", "0+"))
        self.nullable = VRange(attrs.get("nullable", "none"))
        self.tag = int(attrs["tag"]) if "tag" in attrs else None
        self.tagged = VRange(attrs.get("tagged", "none"))
        self.default = attrs.get("default")
        self.ignorable = "ignorable" in attrs
        self.children = []
        self.struct = None  # resolved Struct for struct / []struct types

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def elem(self):
        return self.type[2:] if self.is_array else self.type

    def any_nullable(self):
        return not self.nullable.empty()


class Struct:
    def __init__(self, name, versions):
        self.name = name
        self.versions = versions
        self.fields = []
        self.nested = []  # structs declared inside this one, in dependency order


class Message:
    def __init__(self, path):
        self.kind = None
        self.name = None
        self.key = None
        self.versions = None
        self.flexible = None
        self.commons = {}
        self.parse(path)

    def parse(self, path):
        lines = [l.rstrip("\n") for l in open(path) if l.strip() and not l.lstrip().startswith("#")]
        stack = []  # (indent, field_list)
        top_fields = []
        for line in lines:
            indent = (len(line) - len(line.lstrip(" "))) // 2
            words = line.split()
            attrs = {}
            for w in words[1:]:
                if "=" in w:
                    k, v = w.split("=", 1)
                    if v.startswith('"'):
                        v = v[1:-1]
                    attrs[k] = v
                else:
                    attrs[w] = True
            if words[0] in ("request", "response", "data"):
                self.kind = words[0]
                self.name = words[1]
                self.key = int(attrs["key"]) if "key" in attrs else None
                self.versions = VRange(attrs["versions"])
                self.flexible = VRange(attrs.get("flexible", "none"))
                stack = [(-1, top_fields)]
            elif words[0] == "common":
                s = Struct(words[1], VRange(attrs.get("versions", "0+")))
                self.commons[s.name] = s
                stack = [(0, s.fields)]
            elif words[0] == "field":
                f = Field(words[1], words[2], attrs)
                while stack and stack[-1][0] >= indent:
                    stack.pop()
                stack[-1][1].append(f)
                stack.append((indent, f.children))
            else:
                raise SystemExit(f"{path}: cannot parse: {line}")
        self.root = Struct(self.cpp_name, self.versions)
        self.root.fields = top_fields
        for c in self.commons.values():
            self.resolve(c, self.root)
        self.resolve(self.root, self.root)
        self.root.nested = self.dependency_order(list(self.commons.values()) + self.root.nested)

    @staticmethod
    def dependency_order(structs):
        """Orders structs so each is declared after every struct its fields use."""
        done, out = set(), []

        def visit(s):
            if id(s) in done:
                return
            done.add(id(s))
            for f in s.fields:
                if f.struct is not None:
                    visit(f.struct)
            out.append(s)

        for s in structs:
            visit(s)
        return out

    @property
    def cpp_name(self):
        s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", self.name)
        s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s).lower()
        return s + "_data"

    def resolve(self, struct, root):
        for f in struct.fields:
            if f.elem in PRIMITIVES or f.elem in ("string", "bytes", "records"):
                continue
            if f.children:
                s = Struct(f.elem, f.versions)
                s.fields = f.children
                self.resolve(s, root)
                root.nested.append(s)
                f.struct = s
            elif f.elem in self.commons:
                f.struct = self.commons[f.elem]
            else:
                raise SystemExit(f"{self.name}: unknown type {f.elem}")


def cpp_elem_type(f):
    e = f.elem
    if e in PRIMITIVES:
        return PRIMITIVES[e][0]
    if e == "string":
        return "std::string"
    if e in ("bytes", "records"):
        return "byte_slice"
    return e


def cpp_type(f):
    t = cpp_elem_type(f)
    if f.is_array:
        t = f"std::vector<{t}>"
    if f.any_nullable() and (f.is_array or f.elem in ("string", "bytes", "records")):
        t = f"std::optional<{t}>"
    elif f.any_nullable() and f.struct is not None:
        t = f"std::optional<{t}>"
    return t


def default_init(f):
    if f.is_array or f.struct is not None:
        return ""
    d = f.default
    e = f.elem
    if f.any_nullable() and e in ("string", "bytes", "records"):
        if d is None or d == "null":
            return ""  # std::nullopt
        return f' = std::string("{d}")' if e == "string" else ""
    if e == "string":
        return f' = "{d}"' if d else ""
    if e in ("bytes", "records", "uuid"):
        return ""
    if d is None:
        return "{}"
    if e == "bool":
        return " = " + ("true" if d == "true" else "false")
    if e == "float64":
        return f" = {float(d)}"
    v = int(d, 0)
    if v == -(2 ** 31):
        return " = INT32_MIN"
    return f" = {v}"


def is_default_expr(f, member):
    """A C++ expression true when `member` holds the field's default (for tagged fields)."""
    if f.is_array:
        if f.any_nullable():
            return f"!{member}.has_value()" if (f.default == "null") else f"({member} && {member}->empty())"
        return f"{member}.empty()"
    if f.struct is not None:
        if f.any_nullable():
            return f"!{member}.has_value()"
        return f"{member} == {f.struct.name}{{}}"
    e = f.elem
    if e in ("string", "bytes", "records"):
        if f.any_nullable():
            if f.default is None or f.default == "null":
                return f"!{member}.has_value()"
            return f"({member} && {member}->empty())"
        return f"{member}.empty()"
    if e == "uuid":
        return f"{member} == protocol::uuid{{}}"
    init = default_init(f).replace(" = ", "").strip()
    if init in ("", "{}"):
        init = PRIMITIVES[e][2]
    return f"{member} == {init}"


class Gen:
    def __init__(self, msg):
        self.msg = msg
        self.flex_lo = msg.flexible.lo if not msg.flexible.empty() else None

    def flex(self):
        if self.flex_lo is None:
            return "false"
        return f"v >= {self.flex_lo}"

    # ---- declarations -------------------------------------------------
    def decl_struct(self, s, indent):
        pad = "    " * indent
        out = [f"{pad}struct {s.name} {{"]
        if s is self.msg.root:
            for n in s.nested:
                out += self.decl_struct(n, indent + 1)
        for f in s.fields:
            out.append(f"{pad}    {cpp_type(f)} {f.name}{default_init(f)};")
        out.append(f"{pad}    // Tagged fields this version of the schema does not know, kept for re-encoding.")
        out.append(f"{pad}    std::vector<protocol::unknown_tagged_field> unknown_tagged_fields;")
        out.append("")
        out.append(f"{pad}    [[nodiscard]] result<void> decode(protocol::reader& r, int16_t v);")
        out.append(f"{pad}    void encode(protocol::writer& w, int16_t v) const;")
        out.append(f"{pad}    // Sets every field present in version v to a non-default value (tests, fuzz seeds).")
        out.append(f"{pad}    void fill_sample(int16_t v, uint32_t seed);")
        out.append(f"{pad}    bool operator==(const {s.name}&) const = default;")
        if s is self.msg.root:
            ec = [f for f in s.fields if f.name == "error_code" and f.tag is None and f.elem == "int16"]
            cond = ec[0].versions.cond() if ec else "false"
            out.append(f"{pad}    // Whether version v carries a top-level error_code.")
            out.append(f"{pad}    static constexpr bool has_error_code(int16_t v) {{ return (void)v, {cond}; }}")
        out.append(f"{pad}}};")
        return out

    # ---- definitions --------------------------------------------------
    def qual(self, s):
        root = self.msg.root.name
        return root if s is self.msg.root else f"{root}::{s.name}"

    def read_expr(self, f, elem_only=False):
        e = f.elem
        fx = self.flex()
        if e in PRIMITIVES:
            return f"r.{PRIMITIVES[e][1]}()"
        if e == "string":
            return f"r.string({fx})"
        if e in ("bytes", "records"):
            return f"r.bytes({fx})"
        raise AssertionError(e)

    def decode_value(self, f, target, lines, pad):
        """Decodes one non-array value of f into `target` (an lvalue)."""
        if f.struct is not None:
            lines.append(f"{pad}CHRONIK_PROTO_CHECK({target}.decode(r, v));")
            return
        lines.append(f"{pad}CHRONIK_PROTO_READ({target}, {self.read_expr(f)});")

    def decode_field(self, f, lines, pad):
        m = f"this->{f.name}"
        fx = self.flex()
        nullable = f.nullable.cond()
        if f.is_array:
            lines.append(f"{pad}{{")
            lines.append(f"{pad}    int32_t n = 0;")
            lines.append(f"{pad}    CHRONIK_PROTO_READ(n, r.array_length({fx}));")
            if f.any_nullable():
                lines.append(f"{pad}    if (n < 0) {{")
                lines.append(f"{pad}        if (!({nullable})) return protocol::make_error(protocol::errc::null_not_allowed);")
                lines.append(f"{pad}        {m}.reset();")
                lines.append(f"{pad}    }} else {{")
                lines.append(f"{pad}        auto& vec = {m}.emplace();")
            else:
                lines.append(f"{pad}    if (n < 0) return protocol::make_error(protocol::errc::null_not_allowed);")
                lines.append(f"{pad}    {{")
                lines.append(f"{pad}        auto& vec = {m};")
                lines.append(f"{pad}        vec.clear();")
            lines.append(f"{pad}        vec.reserve(size_t(n));")
            lines.append(f"{pad}        for (int32_t i = 0; i < n; ++i) {{")
            lines.append(f"{pad}            auto& item = vec.emplace_back();")
            self.decode_value(f, "item", lines, pad + "            ")
            lines.append(f"{pad}        }}")
            lines.append(f"{pad}    }}")
            lines.append(f"{pad}}}")
            return
        if f.struct is not None and f.any_nullable():
            lines.append(f"{pad}{{")
            lines.append(f"{pad}    int8_t present = 0;")
            lines.append(f"{pad}    CHRONIK_PROTO_READ(present, r.i8());")
            lines.append(f"{pad}    if (present < 0) {{")
            lines.append(f"{pad}        if (!({nullable})) return protocol::make_error(protocol::errc::null_not_allowed);")
            lines.append(f"{pad}        {m}.reset();")
            lines.append(f"{pad}    }} else {{")
            # A temporary, not optional::emplace(): clang 14 misjudges nested
            # structs with default member initialisers as not default-constructible.
            lines.append(f"{pad}        {f.struct.name} tmp;")
            lines.append(f"{pad}        CHRONIK_PROTO_CHECK(tmp.decode(r, v));")
            lines.append(f"{pad}        {m} = std::move(tmp);")
            lines.append(f"{pad}    }}")
            lines.append(f"{pad}}}")
            return
        if f.any_nullable() and f.elem in ("string", "bytes", "records"):
            fn = "nullable_string" if f.elem == "string" else "nullable_bytes"
            lines.append(f"{pad}CHRONIK_PROTO_READ({m}, r.{fn}({fx}, {nullable}));")
            return
        self.decode_value(f, m, lines, pad)

    def write_value(self, f, value, lines, pad, w="w"):
        e = f.elem
        fx = self.flex()
        if f.struct is not None:
            lines.append(f"{pad}{value}.encode({w}, v);")
        elif e in PRIMITIVES:
            lines.append(f"{pad}{w}.{PRIMITIVES[e][1]}({value});")
        elif e == "string":
            lines.append(f"{pad}{w}.string({value}, {fx});")
        else:
            lines.append(f"{pad}{w}.bytes({value}, {fx});")

    def encode_field(self, f, lines, pad, w="w"):
        m = f"this->{f.name}"
        fx = self.flex()
        if f.is_array:
            if f.any_nullable():
                lines.append(f"{pad}if (!{m}) {{")
                lines.append(f"{pad}    {w}.array_length(-1, {fx});")
                lines.append(f"{pad}}} else {{")
                vec = f"(*{m})"
            else:
                lines.append(f"{pad}{{")
                vec = m
            lines.append(f"{pad}    {w}.array_length(int32_t({vec}.size()), {fx});")
            lines.append(f"{pad}    for (const auto& item : {vec}) {{")
            self.write_value(f, "item", lines, pad + "        ", w)
            lines.append(f"{pad}    }}")
            lines.append(f"{pad}}}")
            return
        if f.struct is not None and f.any_nullable():
            lines.append(f"{pad}if (!{m}) {{")
            lines.append(f"{pad}    {w}.i8(-1);")
            lines.append(f"{pad}}} else {{")
            lines.append(f"{pad}    {w}.i8(1);")
            lines.append(f"{pad}    {m}->encode({w}, v);")
            lines.append(f"{pad}}}")
            return
        if f.any_nullable() and f.elem in ("string", "bytes", "records"):
            fn = "nullable_string" if f.elem == "string" else "nullable_bytes"
            lines.append(f"{pad}{w}.{fn}({m}, {fx});")
            return
        self.write_value(f, m, lines, pad, w)

    @staticmethod
    def per_version_fields(fields, emit, out):
        """Emits each field's code, guarded by its version range where it has one."""
        for f in fields:
            c = f.versions.cond()
            if c == "false":
                continue
            lines = []
            emit(f, lines, "        " if c != "true" else "    ")
            if c != "true":
                out.append(f"    if ({c}) {{")
                out += lines
                out.append("    }")
            else:
                out += lines

    def define_struct(self, s):
        q = self.qual(s)
        out = []
        regular = [f for f in s.fields if f.tag is None]
        tagged = sorted([f for f in s.fields if f.tag is not None], key=lambda f: f.tag)

        # decode
        out.append(f"result<void> {q}::decode(protocol::reader& r, int16_t v) {{")
        out.append("    (void)v;")
        self.per_version_fields(regular, self.decode_field, out)
        if self.flex_lo is not None:
            out.append(f"    if ({self.flex()}) {{")
            out.append("        uint32_t count = 0;")
            out.append("        CHRONIK_PROTO_READ(count, r.uvarint());")
            out.append("        for (uint32_t i = 0; i < count; ++i) {")
            out.append("            uint32_t tag = 0, size = 0;")
            out.append("            CHRONIK_PROTO_READ(tag, r.uvarint());")
            out.append("            CHRONIK_PROTO_READ(size, r.uvarint());")
            out.append("            if (size > r.remaining()) return protocol::make_error(protocol::errc::truncated);")
            if tagged:
                out.append("            switch (tag) {")
                for f in tagged:
                    out.append(f"            case {f.tag}:")
                    out.append(f"                if ({f.tagged.cond()}) {{")
                    out.append("                    protocol::reader outer = r;")
                    out.append("                    CHRONIK_PROTO_READ(r, outer.sub(size));")
                    lines = []
                    self.decode_field(f, lines, "                    ")
                    out += lines
                    out.append("                    r = outer;")
                    out.append("                    continue;")
                    out.append("                }")
                    out.append("                break;")
                out.append("            default:")
                out.append("                break;")
                out.append("            }")
            out.append("            {")
            out.append("                auto& u = this->unknown_tagged_fields.emplace_back();")
            out.append("                u.tag = tag;")
            out.append("                CHRONIK_PROTO_READ(u.data, r.raw(size));")
            out.append("            }")
            out.append("        }")
            out.append("    }")
        out.append("    return outcome::success();")
        out.append("}")
        out.append("")

        # encode
        out.append(f"void {q}::encode(protocol::writer& w, int16_t v) const {{")
        out.append("    (void)v;")
        self.per_version_fields(regular, self.encode_field, out)
        if self.flex_lo is not None:
            out.append(f"    if ({self.flex()}) {{")
            out.append("        uint32_t count = uint32_t(this->unknown_tagged_fields.size());")
            for f in tagged:
                out.append(f"        if (({f.tagged.cond()}) && !({is_default_expr(f, 'this->' + f.name)})) ++count;")
            out.append("        w.uvarint(count);")
            # Tagged fields go out in tag order, unknown ones after the known ones.
            for f in tagged:
                out.append(f"        if (({f.tagged.cond()}) && !({is_default_expr(f, 'this->' + f.name)})) {{")
                out.append("            iobuf tmp;")
                out.append("            protocol::writer tw(tmp);")
                lines = []
                self.encode_field(f, lines, "            ", "tw")
                out += lines
                out.append(f"            w.uvarint({f.tag});")
                out.append("            w.uvarint(uint32_t(tmp.size()));")
                out.append("            w.append(tmp);")
                out.append("        }")
            out.append("        for (const auto& u : this->unknown_tagged_fields) {")
            out.append("            w.uvarint(u.tag);")
            out.append("            w.uvarint(uint32_t(u.data.size()));")
            out.append("            w.raw(u.data);")
            out.append("        }")
            out.append("    }")
        out.append("}")
        out.append("")

        # fill_sample
        out.append(f"void {q}::fill_sample(int16_t v, uint32_t seed) {{")
        out.append("    (void)v;")
        out.append("    (void)seed;")
        for i, f in enumerate(s.fields):
            present = f.versions.cond() if f.tag is None else f"({f.tagged.cond()}) && ({self.flex()})"
            if f.tag is None and f.versions.cond() == "false":
                continue
            out.append(f"    if ({present}) {{")
            out.append(f"        const uint32_t s{i} = seed * 31u + {i + 1}u;")
            out.append(f"        (void)s{i};")
            nullable_now = f.nullable.cond()
            m = f"this->{f.name}"
            if f.any_nullable():
                # Some seeds exercise null where this version allows it.
                out.append(f"        if (({nullable_now}) && s{i} % 5u == 0u) {{")
                if f.is_array or f.struct is not None or f.elem in ("string", "bytes", "records"):
                    out.append(f"            {m}.reset();")
                out.append("        } else {")
                pad = "            "
            else:
                pad = "        "
            lines = []
            self.sample_value(f, m, f"s{i}", lines, pad)
            out += lines
            if f.any_nullable():
                out.append("        }")
            out.append("    }")
        out.append("}")
        out.append("")
        return out

    def sample_value(self, f, m, s, lines, pad):
        nullable_container = f.any_nullable() and (f.is_array or f.struct is not None or
                                                   f.elem in ("string", "bytes", "records"))
        if f.is_array:
            target = f"{m}.emplace()" if nullable_container else m
            lines.append(f"{pad}{{")
            lines.append(f"{pad}    auto& vec = {target};")
            lines.append(f"{pad}    vec.clear();")
            lines.append(f"{pad}    for (uint32_t k = 0; k < 1u + {s} % 3u; ++k) {{")
            lines.append(f"{pad}        auto& item = vec.emplace_back();")
            lines.append(f"{pad}        (void)item;")
            self.sample_scalar(f, "item", f"({s} + k * 7u)", lines, pad + "        ")
            lines.append(f"{pad}    }}")
            lines.append(f"{pad}}}")
            return
        if nullable_container:
            if f.struct is not None:
                lines.append(f"{pad}{{")
                lines.append(f"{pad}    {f.struct.name} tmp;")
                lines.append(f"{pad}    tmp.fill_sample(v, {s});")
                lines.append(f"{pad}    {m} = std::move(tmp);")
                lines.append(f"{pad}}}")
                return
            lines.append(f"{pad}{m}.emplace();")
            self.sample_scalar(f, f"(*{m})", s, lines, pad)
            return
        self.sample_scalar(f, m, s, lines, pad)

    def sample_scalar(self, f, target, s, lines, pad):
        e = f.elem
        if f.struct is not None:
            lines.append(f"{pad}{target}.fill_sample(v, {s});")
        elif e == "bool":
            lines.append(f"{pad}{target} = true;")
        elif e == "float64":
            lines.append(f"{pad}{target} = double({s} % 1000u) + 0.5;")
        elif e == "uuid":
            lines.append(f"{pad}{target} = protocol::sample_uuid({s});")
        elif e == "string":
            lines.append(f'{pad}{target} = "s" + std::to_string({s});')
        elif e in ("bytes", "records"):
            lines.append(f"{pad}{target} = protocol::sample_bytes({s});")
        else:
            ctype = PRIMITIVES[e][0]
            # Never equal to a default of 0 or -1, so tagged fields are always written.
            lines.append(f"{pad}{target} = {ctype}(1 + {s} % 100u);")

    def all_structs(self):
        return self.msg.root.nested + [self.msg.root]


def api_base(msg):
    n = msg.cpp_name[: -len("_data")]
    for suffix in ("_request", "_response"):
        if n.endswith(suffix):
            return n[: -len(suffix)]
    return n


def main():
    out_dir = sys.argv[1]
    paths = sorted(sys.argv[2:])
    msgs = [Message(p) for p in paths]
    gens = [Gen(m) for m in msgs]
    os.makedirs(out_dir, exist_ok=True)

    # ---- header ----
    h = ["// Generated by src/kafka/protocol/tools/generate.py from schema/*.schema. Do not edit.",
         "#pragma once",
         '#include "base/bytes.h"',
         '#include "base/result.h"',
         '#include "kafka/protocol/reader.h"',
         '#include "kafka/protocol/types.h"',
         '#include "kafka/protocol/writer.h"',
         "",
         "#include <cstdint>",
         "#include <optional>",
         "#include <string>",
         "#include <string_view>",
         "#include <vector>",
         "",
         "namespace chronik::protocol {",
         ""]
    for g in gens:
        h += g.decl_struct(g.msg.root, 0)
        h.append("")
    apis = {}
    for m in msgs:
        if m.key is not None:
            apis.setdefault(api_base(m), {})[m.kind] = m
    h.append("// One trait per API: its key, the versions the schema defines, and the first")
    h.append("// flexible version (-1 when none).")
    for base, pair in sorted(apis.items(), key=lambda kv: kv[1]["request"].key):
        req, resp = pair["request"], pair["response"]
        camel = req.name[: -len("Request")]
        flex = req.flexible.lo if not req.flexible.empty() else -1
        h += [f"struct {base}_api {{",
              f"    static constexpr int16_t key = {req.key};",
              f"    static constexpr int16_t min_version = {req.versions.lo};",
              f"    static constexpr int16_t max_version = {req.versions.hi};",
              f"    static constexpr int16_t flexible_min_version = {flex};",
              f'    static constexpr std::string_view name = "{camel}";',
              f"    using request = {req.cpp_name};",
              f"    using response = {resp.cpp_name};",
              "};"]
    h.append("")
    names = [f"{b}_api" for b, p in sorted(apis.items(), key=lambda kv: kv[1]["request"].key)]
    h.append("using all_apis = type_list<" + ", ".join(names) + ">;")
    h.append("")
    h.append("} // namespace chronik::protocol")
    with open(os.path.join(out_dir, "messages.h.tmp"), "w") as f:
        f.write("\n".join(h) + "\n")
    replace_if_changed(os.path.join(out_dir, "messages.h"))

    # ---- definitions, split for parallel compilation ----
    parts = 4
    for i in range(parts):
        c = ["// Generated by src/kafka/protocol/tools/generate.py. Do not edit.",
             '#include "kafka/protocol/messages.h"',
             '#include "kafka/protocol/codec_macros.h"',
             "",
             "#include <string>",
             "",
             "namespace chronik::protocol {",
             ""]
        for g in gens[i::parts]:
            for s in g.all_structs():
                c += g.define_struct(s)
        c.append("} // namespace chronik::protocol")
        path = os.path.join(out_dir, f"messages_{i}.cc")
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(c) + "\n")
        replace_if_changed(path)

    # ---- round-trip tests ----
    t = ["// Generated by src/kafka/protocol/tools/generate.py. Do not edit.",
         '#include "kafka/protocol/messages.h"',
         '#include "kafka/protocol/tests/round_trip.h"',
         "",
         "namespace chronik::protocol {",
         ""]
    for m in msgs:
        t.append(f"TEST(round_trip, {m.cpp_name}) {{ check_all_versions<{m.cpp_name}>({m.versions.lo}, "
                 f"{m.versions.hi}); }}")
    t.append("")
    t.append(f"// {sum(m.versions.hi - m.versions.lo + 1 for m in msgs)} (message, version) pairs in "
             f"{len(msgs)} messages.")
    t.append("} // namespace chronik::protocol")
    path = os.path.join(out_dir, "round_trip_test.cc")
    with open(path + ".tmp", "w") as f:
        f.write("\n".join(t) + "\n")
    replace_if_changed(path)


def replace_if_changed(path):
    """Keeps the old file (and its timestamp) when the content is the same."""
    new = open(path + ".tmp").read()
    try:
        old = open(path).read()
    except OSError:
        old = None
    if old == new:
        os.unlink(path + ".tmp")
    else:
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
