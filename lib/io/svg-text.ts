// Text in the SVG plots: XML escaping, coordinates as short numbers, the font and the width a label
// takes for the layout, and the <svg> document around a plot's elements.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
// C0 controls other than tab/newline/CR, U+FFFE/U+FFFF and unpaired surrogates: XML 1.0 cannot hold them
// even as character references, and one of them makes the whole file unreadable to a browser.
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** A string as SVG text or attribute value: & < > " ' as entities, characters XML cannot hold as U+FFFD. */
export function escapeXml(s: string): string {
  return s.replace(NOT_XML, '\ufffd').replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

/** A coordinate with 2 decimals: a hundredth of a pixel is below what any renderer shows, and keeps files small. */
export const num = (v: number): string => String(Math.round(v * 100) / 100);

// Font sizes and the width a label takes, for the layout only (the renderer measures the real glyphs):
// 0.6 em per character is about DejaVu Sans's and Arial's average advance.
export const FONT = 12;
export const TITLE_FONT = 15;
const FONT_FAMILY = "'DejaVu Sans', 'Liberation Sans', Arial, Helvetica, sans-serif";
export const textWidth = (s: string, size = FONT): number => s.length * size * 0.6;

export function svgDocument(width: number, height: number, title: string | undefined, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}" font-size="${FONT}">`,
    ...(title ? [`<title>${escapeXml(title)}</title>`] : []),
    ...body.filter(Boolean),
    '</svg>',
    '',
  ].join('\n');
}
