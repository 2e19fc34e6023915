/**
 * MSVC decorated type names as RTTI type descriptors hold them (`.?AV…@@`), turned into the text
 * MSVC's own undecorator prints: `class std::basic_string<char,struct std::char_traits<char>,class
 * std::allocator<char> >`. Covers what type descriptors contain: nested names, templates and
 * their arguments (primitive, class/struct/union/enum, pointers and references, integer
 * constants), name back-references (`0`-`9`, one table per template) and anonymous namespaces.
 * Anything else, or input that does not parse, gives `undefined`: callers keep the decorated
 * name. Dump text is hostile: length and nesting are bounded.
 */

const PRIMITIVES: Record<string, string> = {
  C: "signed char",
  D: "char",
  E: "unsigned char",
  F: "short",
  G: "unsigned short",
  H: "int",
  I: "unsigned int",
  J: "long",
  K: "unsigned long",
  M: "float",
  N: "double",
  O: "long double",
  X: "void",
};
const EXTENDED: Record<string, string> = {
  J: "__int64",
  K: "unsigned __int64",
  N: "bool",
  W: "wchar_t",
  S: "char16_t",
  U: "char32_t",
  Q: "char8_t",
};
const TAGS: Record<string, string> = { V: "class", U: "struct", T: "union" };
const MAX_LENGTH = 4096;
const MAX_DEPTH = 32;

class Fail extends Error {}

class Parser {
  pos = 0;
  depth = 0;
  constructor(readonly s: string) {}

  peek(n = 0): string {
    return this.s[this.pos + n] ?? "";
  }
  take(): string {
    const c = this.s[this.pos];
    if (c === undefined) throw new Fail();
    this.pos++;
    return c;
  }
  expect(text: string): void {
    if (!this.s.startsWith(text, this.pos)) throw new Fail();
    this.pos += text.length;
  }

  /** A simple identifier up to its `@`. */
  identifier(): string {
    const end = this.s.indexOf("@", this.pos);
    if (end <= this.pos) throw new Fail();
    const id = this.s.slice(this.pos, end);
    if (!/^[A-Za-z_$][\w$<>]*$/.test(id)) throw new Fail();
    this.pos = end + 1;
    return id;
  }

  /** One piece of a qualified name, memorized in `names` as MSVC does. */
  piece(names: string[]): string {
    const c = this.peek();
    if (c >= "0" && c <= "9") {
      this.pos++;
      const name = names[c.charCodeAt(0) - 48];
      if (name === undefined) throw new Fail();
      return name;
    }
    if (this.s.startsWith("?$", this.pos)) {
      this.pos += 2;
      const name = this.template();
      if (names.length < 10) names.push(name);
      return name;
    }
    if (this.s.startsWith("?A", this.pos)) {
      // anonymous namespace: ?A0x<hash>@
      this.pos += 2;
      const end = this.s.indexOf("@", this.pos);
      if (end < 0 || !/^0x[0-9a-f]+$/i.test(this.s.slice(this.pos, end))) throw new Fail();
      this.pos = end + 1;
      const name = "`anonymous namespace'";
      if (names.length < 10) names.push(name);
      return name;
    }
    const id = this.identifier();
    if (names.length < 10) names.push(id);
    return id;
  }

  /** `name@args@` after `?$`: a template instance, with its own back-reference table. */
  template(): string {
    if (++this.depth > MAX_DEPTH) throw new Fail();
    const names: string[] = [];
    const name = this.identifier();
    names.push(name);
    const args: string[] = [];
    while (this.peek() !== "@") {
      if (args.length > 64) throw new Fail();
      args.push(this.templateArg(names));
    }
    this.pos++;
    this.depth--;
    const list = args.join(",");
    return `${name}<${list}${list.endsWith(">") ? " " : ""}>`;
  }

  /** A qualified name: pieces innermost first, ended by an empty piece (`@`). */
  qualified(names: string[]): string {
    const pieces = [this.piece(names)];
    while (this.peek() !== "@") {
      if (pieces.length > 32) throw new Fail();
      pieces.push(this.piece(names));
    }
    this.pos++;
    return pieces.reverse().join("::");
  }

  templateArg(names: string[]): string {
    if (this.s.startsWith("$0", this.pos)) {
      this.pos += 2;
      return this.number();
    }
    if (this.s.startsWith("$$V", this.pos) || this.s.startsWith("$$Z", this.pos)) {
      this.pos += 3;
      return "";
    }
    return this.type(names);
  }

  /** MSVC's encoded integer: `0`-`9` are 1-10, else hex digits `A`-`P` ended by `@`; `?` negates. */
  number(): string {
    let negative = false;
    if (this.peek() === "?") {
      negative = true;
      this.pos++;
    }
    const c = this.take();
    let v: bigint;
    if (c >= "0" && c <= "9") v = BigInt(c.charCodeAt(0) - 47);
    else {
      v = 0n;
      let d = c;
      let n = 0;
      while (d !== "@") {
        if (d < "A" || d > "P" || ++n > 16) throw new Fail();
        v = v * 16n + BigInt(d.charCodeAt(0) - 65);
        d = this.take();
      }
    }
    return `${negative ? "-" : ""}${v}`;
  }

  type(names: string[]): string {
    if (++this.depth > MAX_DEPTH) throw new Fail();
    const c = this.take();
    let out: string;
    if (TAGS[c]) out = `${TAGS[c]} ${this.qualified(names)}`;
    else if (c === "W") {
      this.take(); // underlying type digit
      out = `enum ${this.qualified(names)}`;
    } else if (c === "_") {
      const e = EXTENDED[this.take()];
      if (!e) throw new Fail();
      out = e;
    } else if (c === "P" || c === "Q" || c === "A" || (c === "$" && this.s.startsWith("$Q", this.pos))) {
      let ref = c === "A" ? "&" : "*";
      if (c === "$") {
        this.pos += 2;
        ref = "&&";
      }
      if (this.peek() === "E") this.pos++; // __ptr64
      const cv = this.take();
      const quals = cv === "A" ? "" : cv === "B" ? "const " : cv === "C" ? "volatile " : cv === "D" ? "const volatile " : undefined;
      if (quals === undefined) throw new Fail();
      out = `${quals}${this.type(names)} ${ref}${c === "Q" ? "const" : ""}`.trimEnd();
    } else if (PRIMITIVES[c]) out = PRIMITIVES[c]!;
    else throw new Fail();
    this.depth--;
    return out;
  }
}

/** `.?AV…@@` as undname prints it, or undefined when it is not a type name this reads. */
export function demangleMsvcType(decorated: string): string | undefined {
  if (decorated.length > MAX_LENGTH) return undefined;
  const m = /^\.\?A([VUTW])/.exec(decorated);
  if (!m) return undefined;
  const p = new Parser(decorated);
  p.pos = 4;
  try {
    let keyword: string;
    if (m[1] === "W") {
      p.take(); // underlying type digit
      keyword = "enum";
    } else keyword = TAGS[m[1]!]!;
    const name = p.qualified([]);
    if (p.pos !== decorated.length) return undefined;
    return `${keyword} ${name}`;
  } catch (e) {
    if (e instanceof Fail) return undefined;
    throw e;
  }
}
