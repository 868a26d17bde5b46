/**
 * A self-contained flame graph page (`flamegraph.html`): the stacks as a JSON tree inside the page and a small
 * inline script that draws them as SVG, with search and click-to-zoom. No external assets, and a
 * Content-Security-Policy that forbids any network access, so a bundle opens safely offline.
 * Frame names are hostile input (they come from the traced process): they reach the page only as JSON
 * with `<`, `>`, `&` escaped, and the script puts them in the DOM with textContent, never innerHTML.
 */
import { foldedPath, foldedWeight } from './folded.ts';
import type { StackWeight } from './types.ts';

/** One graph of the page (one per stack probe). */
export interface FlameInput {
  readonly name: string;
  readonly stacks: readonly StackWeight[];
}

/** A node of the merged call tree: name, total weight, children. Short keys keep big pages small. */
export interface FlameNode {
  n: string;
  v: number;
  c: FlameNode[];
}

/** Merges stacks into a call tree rooted at "all" (comm is the first level), children heaviest first. */
export function flameTree(stacks: readonly StackWeight[]): FlameNode {
  const root: FlameNode = { n: 'all', v: 0, c: [] };
  for (const s of stacks) {
    const w = foldedWeight(s);
    if (w <= 0) continue;
    root.v += w;
    let node = root;
    for (const f of foldedPath(s)) {
      let child = node.c.find((c) => c.n === f);
      if (!child) {
        child = { n: f, v: 0, c: [] };
        node.c.push(child);
      }
      child.v += w;
      node = child;
    }
  }
  const sort = (n: FlameNode): void => {
    n.c.sort((a, b) => b.v - a.v);
    n.c.forEach(sort);
  };
  sort(root);
  return root;
}

/** HTML text escape for the few strings placed in markup (title, headings). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** JSON safe inside a <script> element: no `</script>`, no `<!--`, no line separators that break JS. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

const STYLE = `body{font:13px system-ui,sans-serif;margin:16px;color:#222}h1{font-size:18px}h2{font-size:15px;margin:20px 0 6px}
.bar{display:flex;gap:8px;align-items:center;margin:6px 0}input{font:inherit;padding:2px 6px;width:260px}
svg{width:100%;display:block;background:#fafafa;border:1px solid #ddd}svg text{font:11px monospace;pointer-events:none}
svg g{cursor:pointer}svg rect{stroke:#fff;stroke-width:.5}.info{color:#555;min-height:1.2em;font-family:monospace}`;

// Drawn in the browser: per graph an icicle (root on top). Zoom = re-layout from the clicked node.
const SCRIPT = `(function(){
const data=JSON.parse(document.getElementById('flame-data').textContent);
const NS='http://www.w3.org/2000/svg',H=17;
function color(name){let h=0;for(let i=0;i<name.length;i++)h=(h*31+name.charCodeAt(i))>>>0;return 'hsl('+(10+h%45)+','+(65+h%25)+'%,'+(55+h%15)+'%)';}
function depth(n){let d=0;for(const c of n.c)d=Math.max(d,depth(c));return d+1;}
data.forEach(function(g,gi){
  const sec=document.getElementById('graph-'+gi),svg=sec.querySelector('svg'),info=sec.querySelector('.info'),
    input=sec.querySelector('input'),reset=sec.querySelector('button');
  const W=Math.max(300,Math.floor(svg.getBoundingClientRect().width)||1200),rows=depth(g.tree);svg.setAttribute('viewBox','0 0 '+W+' '+rows*H);svg.setAttribute('height',rows*H);
  let zoom=[g.tree];
  function draw(){
    while(svg.firstChild)svg.removeChild(svg.firstChild);
    const top=zoom[zoom.length-1],term=input.value.toLowerCase();let matched=0;
    zoom.forEach(function(a,i){place(a,i,0,W,a===top);});
    function place(n,d,x,w,recurse){
      if(w<0.5)return;
      const el=document.createElementNS(NS,'g'),r=document.createElementNS(NS,'rect'),t=document.createElementNS(NS,'text'),tt=document.createElementNS(NS,'title');
      const hit=term!==''&&n.n.toLowerCase().includes(term);if(hit&&recurse)matched+=n.v;
      r.setAttribute('x',x);r.setAttribute('y',d*H);r.setAttribute('width',w);r.setAttribute('height',H-1);
      r.setAttribute('fill',hit?'#e040e0':(recurse?color(n.n):'#ccc'));
      const pct=(100*n.v/g.tree.v).toFixed(2);tt.textContent=n.n+' ('+n.v+' '+g.unit+', '+pct+'%)';
      t.setAttribute('x',x+3);t.setAttribute('y',d*H+12);const fit=Math.floor((w-6)/6.6);
      t.textContent=fit>=n.n.length?n.n:(fit>2?n.n.slice(0,fit-2)+'..':'');
      el.appendChild(tt);el.appendChild(r);el.appendChild(t);el.dataset.name=n.n;
      el.addEventListener('click',function(){const i=zoom.indexOf(n);if(i>=0)zoom=zoom.slice(0,i+1);else zoom=pathTo(g.tree,n);draw();});
      el.addEventListener('mouseover',function(){info.textContent=tt.textContent;});
      svg.appendChild(el);
      if(!recurse)return;let cx=x;for(const c of n.c){const cw=w*c.v/n.v;place(c,d+1,cx,cw,true);cx+=cw;}
    }
    info.textContent=term?('matched '+(100*matched/top.v).toFixed(2)+'% of '+top.n):'';
  }
  function pathTo(root,target){const p=[];(function walk(n){p.push(n);if(n===target)return true;for(const c of n.c)if(walk(c))return true;p.pop();return false;})(root);return p;}
  input.addEventListener('input',draw);reset.addEventListener('click',function(){zoom=[g.tree];input.value='';draw();});
  draw();
});})();`;

/** The page for one or more graphs. `title` is escaped; frame names only ever travel as JSON. */
export function renderFlamegraph(title: string, graphs: readonly FlameInput[]): string {
  const data = graphs.map((g) => ({
    name: g.name,
    unit: g.stacks[0]?.unit === 'seconds' ? 'us' : 'samples',
    tree: flameTree(g.stacks),
  }));
  const sections = data
    .map(
      (g, i) => `<section id="graph-${i}"><h2>${escapeHtml(g.name)} — ${g.tree.v} ${g.unit}</h2>
<div class="bar"><input type="search" placeholder="search frames" aria-label="search frames"><button type="button">reset zoom</button></div>
<div class="info"></div><svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${escapeHtml(g.name)} flame graph"></svg></section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(title)}</h1>
<p>Click a frame to zoom, click a frame above it to zoom out; type to highlight matching frames.</p>
${sections || '<p>No stacks were captured.</p>'}
<script type="application/json" id="flame-data">${scriptJson(data)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
