import { describe, expect, it } from "vitest";
import { demangleMsvcType } from "../src/demangle.js";
import { demangleTypeName } from "../src/index.js";

describe("MSVC type names from RTTI", () => {
  it.each([
    [".?AVSession@net@@", "class net::Session"],
    [".?AUPacket@@", "struct Packet"],
    [".?ATValue@@", "union Value"],
    [".?AW4Color@gfx@@", "enum gfx::Color"],
    [".?AV?$basic_string@DU?$char_traits@D@std@@V?$allocator@D@2@@std@@", "class std::basic_string<char,struct std::char_traits<char>,class std::allocator<char> >"],
    [".?AV?$basic_string@_WU?$char_traits@_W@std@@V?$allocator@_W@2@@std@@", "class std::basic_string<wchar_t,struct std::char_traits<wchar_t>,class std::allocator<wchar_t> >"],
    [".?AV?$vector@HV?$allocator@H@std@@@std@@", "class std::vector<int,class std::allocator<int> >"],
    [".?AV?$_Ref_count_obj2@VSession@net@@@std@@", "class std::_Ref_count_obj2<class net::Session>"],
    [".?AV?$map@HPEAVNode@@U?$less@H@std@@V?$allocator@U?$pair@$$CBHPEAVNode@@@std@@@3@@std@@", undefined],
    [".?AV?$array@H$0BA@@std@@", "class std::array<int,16>"],
    [".?AV?$array@_N$00@std@@", "class std::array<bool,1>"],
    [".?AV?$Holder@PEAVWidget@ui@@@@", "class Holder<class ui::Widget *>"],
    [".?AV?$Ref@$$QEAVWidget@@@@", "class Ref<class Widget &&>"],
    [".?AVImpl@?A0x1b2c3d4e@app@@", "class app::`anonymous namespace'::Impl"],
    [".?AVInner@?$Outer@H@@", "class Outer<int>::Inner"],
  ])("%s", (decorated, want) => {
    expect(demangleMsvcType(decorated)).toBe(want);
  });

  it("keeps what it cannot read decorated, and never throws on hostile text", () => {
    expect(demangleTypeName("garbage")).toBe("garbage");
    expect(demangleTypeName(".?AV?$x@")).toBe(".?AV?$x@");
    expect(demangleTypeName(".?AV9@@")).toBe(".?AV9@@");
    const deep = `.?AV${"?$a@V".repeat(200)}b@@`;
    expect(demangleTypeName(deep)).toBe(deep);
    for (let i = 0; i < 2000; i++) {
      const s = `.?AV${Array.from({ length: 1 + (i % 40) }, (_, k) => "?$@ABCDHUVW0123_$Q.P"[(i * 7 + k * 13) % 20]).join("")}@@`;
      expect(() => demangleTypeName(s)).not.toThrow();
    }
  });
});
