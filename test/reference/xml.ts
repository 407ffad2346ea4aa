// A minimal XML well-formedness check for generated SVG/HTML fragments: balanced, properly nested
// tags, quoted attributes, no stray '<' or '&'.
export function checkXml(text: string): string | null {
  const stack: string[] = [];
  const body = text.replace(/<\?xml[^>]*\?>/, '').replace(/<!--[\s\S]*?-->/g, '');
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
  for (let i = 0; i < body.length; ) {
    if (body[i] === '&') {
      if (!/^&(?:[a-z]+|#\d+|#x[0-9a-f]+);/i.test(body.slice(i, i + 12))) return `bare '&' at ${i}`;
      i++;
      continue;
    }
    if (body[i] !== '<') {
      i++;
      continue;
    }
    tag.lastIndex = i;
    const m = tag.exec(body);
    if (!m) return `malformed tag at ${i}: ${body.slice(i, i + 40)}`;
    const [whole, close, name, , selfClose] = m;
    if (close) {
      const open = stack.pop();
      if (open !== name) return `</${name}> closes <${open}> at ${i}`;
    } else if (!selfClose) stack.push(name);
    i += whole.length;
  }
  return stack.length ? `unclosed <${stack[stack.length - 1]}>` : null;
}
