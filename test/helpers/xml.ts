// A strict little XML reader for the tests of the SVG plots: elements, attributes and text with the
// five predefined entities and character references decoded. It throws where a browser would refuse
// the file (a raw '<' or '&' in text, an unknown entity, a mismatched or unclosed tag), so a test
// that parses a plot also checks that its escaping is right.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own text (not its children's), decoded. */
  text: string;
}

const ENTITY: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decode(s: string, where: number): string {
  return s.replace(/&([^;&\s]*);?/g, (m, name: string) => {
    if (!m.endsWith(';')) throw new Error(`xml: a bare '&' at ${where}`);
    if (name in ENTITY) return ENTITY[name];
    const ref = /^#(x[0-9a-f]+|[0-9]+)$/i.exec(name);
    if (ref) return String.fromCodePoint(ref[1][0].toLowerCase() === 'x' ? parseInt(ref[1].slice(1), 16) : parseInt(ref[1], 10));
    throw new Error(`xml: unknown entity &${name}; at ${where}`);
  });
}

export function parseXml(src: string): XmlElement {
  let i = 0;
  const root: XmlElement = { name: '#document', attrs: {}, children: [], text: '' };
  const stack: XmlElement[] = [root];
  while (i < src.length) {
    if (src.startsWith('<?', i)) { i = src.indexOf('?>', i) + 2; continue; }
    if (src.startsWith('<!--', i)) { i = src.indexOf('-->', i) + 3; continue; }
    if (src[i] === '<') {
      const end = src.indexOf('>', i);
      if (end < 0) throw new Error(`xml: unclosed tag at ${i}`);
      const tag = src.slice(i + 1, end);
      if (tag.startsWith('/')) {
        const top = stack.pop()!;
        if (top.name !== tag.slice(1).trim()) throw new Error(`xml: </${tag.slice(1)}> closes <${top.name}> at ${i}`);
      } else {
        const selfClosing = tag.endsWith('/');
        const body = selfClosing ? tag.slice(0, -1) : tag;
        const m = /^([A-Za-z_][\w:.-]*)/.exec(body);
        if (!m) throw new Error(`xml: bad tag <${tag}> at ${i}`);
        const el: XmlElement = { name: m[1], attrs: {}, children: [], text: '' };
        const rest = body.slice(m[1].length);
        const attr = /\s+([A-Za-z_][\w:.-]*)="([^"]*)"/y;
        let k = 0;
        for (;;) {
          attr.lastIndex = k;
          const a = attr.exec(rest);
          if (!a) break;
          if (a[2].includes('<')) throw new Error(`xml: '<' in attribute ${a[1]} at ${i}`);
          el.attrs[a[1]] = decode(a[2], i);
          k = attr.lastIndex;
        }
        if (rest.slice(k).trim() !== '') throw new Error(`xml: cannot read attributes '${rest.slice(k)}' of <${m[1]}> at ${i}`);
        stack[stack.length - 1].children.push(el);
        if (!selfClosing) stack.push(el);
      }
      i = end + 1;
    } else {
      const next = src.indexOf('<', i);
      const raw = src.slice(i, next < 0 ? src.length : next);
      if (raw.includes(']]>')) throw new Error(`xml: ']]>' in text at ${i}`);
      stack[stack.length - 1].text += decode(raw, i);
      i = next < 0 ? src.length : next;
    }
  }
  if (stack.length !== 1) throw new Error(`xml: <${stack[stack.length - 1].name}> is never closed`);
  if (root.children.length !== 1 || root.text.trim() !== '') throw new Error(`xml: ${root.children.length} root elements, or text outside them`);
  return root.children[0];
}

/** Every element below `el` (depth first) that `pred` accepts. */
export function findAll(el: XmlElement, pred: (e: XmlElement) => boolean): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    for (const c of e.children) {
      if (pred(c)) out.push(c);
      walk(c);
    }
  };
  walk(el);
  return out;
}
