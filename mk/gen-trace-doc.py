#!/usr/bin/env python3
"""mk/gen-trace-doc.py - docs/trace-events.md from the provider headers.

    gen-trace-doc.py [--output FILE]   write the catalog (stdout without FILE)
    gen-trace-doc.py --check FILE      exit 1, showing a diff, when FILE is not
                                       what the generator writes now
    gen-trace-doc.py --def FILE        write analysis/events.def, the event
                                       catalog as X-macros for analysis/
    gen-trace-doc.py --check-def FILE  exit 1 when FILE is stale
    gen-trace-doc.py --lint            exit 1 when an event has no comment
                                       naming its emitter, or a provider
                                       header is missing from trace/trace.h
                                       or trace/providers.c

Rules:
  R1  The headers are the single source: every trace/hvlab_*.h is read, and
      nothing about an event is typed twice.  Each header defines one
      provider (LTTNG_UST_TRACEPOINT_PROVIDER).
  R2  Read are LTTNG_UST_TRACEPOINT_EVENT, _EVENT_CLASS, _EVENT_INSTANCE and
      _ENUM; the block comment right above each is its description (for an
      event: the function that emits it).  An instance lists its class's
      fields.
  R3  Output is deterministic (providers and events in header order), so a
      byte comparison is a correct staleness test.
"""
import difflib
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MACRO = re.compile(r'\bLTTNG_UST_TRACEPOINT_(EVENT_CLASS|EVENT_INSTANCE|EVENT|ENUM)\s*\(')

# field macro -> (number of leading args before the field name, display)
FIELD_KINDS = {
    'integer': 'decimal', 'integer_hex': 'hex', 'integer_network': 'decimal, network order',
    'integer_network_hex': 'hex, network order', 'float': 'float', 'string': 'string',
    'array': 'array', 'array_text': 'text array', 'array_hex': 'hex array',
    'array_network': 'array, network order', 'array_network_hex': 'hex array, network order',
    'sequence': 'sequence', 'sequence_text': 'text sequence', 'sequence_hex': 'hex sequence',
    'sequence_network': 'sequence, network order',
    'sequence_network_hex': 'hex sequence, network order', 'enum': 'enum',
}


def strip_comments(text):
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    return re.sub(r'//[^\n]*', ' ', text)


def balanced(text, start):
    """text[start] is '('; return (inside, index after the closing ')')."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == '(':
            depth += 1
        elif text[i] == ')':
            depth -= 1
            if depth == 0:
                return text[start + 1:i], i + 1
    raise ValueError('unbalanced parentheses')


def split_args(inside):
    args, depth, cur = [], 0, ''
    for ch in inside:
        if ch in '([':
            depth += 1
        elif ch in ')]':
            depth -= 1
        if ch == ',' and depth == 0:
            args.append(cur.strip())
            cur = ''
        else:
            cur += ch
    if cur.strip():
        args.append(cur.strip())
    return args


def comment_above(text, pos):
    """The block or line comments ending right before pos, as one paragraph."""
    before = text[:pos].rstrip()
    lines = []
    while True:
        if before.endswith('*/'):
            start = before.rfind('/*')
            if start < 0:
                break
            block = before[start + 2:-2]
            body = [re.sub(r'^\s*\*?\s?', '', l).rstrip() for l in block.split('\n')]
            lines = body + lines
            before = before[:start].rstrip()
        elif re.search(r'//[^\n]*$', before) and before.split('\n')[-1].lstrip().startswith('//'):
            last = before.split('\n')[-1]
            lines = [last.lstrip()[2:].strip()] + lines
            before = before[:len(before) - len(last)].rstrip()
        else:
            break
    return ' '.join(l.strip() for l in lines if l.strip())


def parse_fields(inside):
    """LTTNG_UST_TP_FIELDS(...) body -> [(name, type, shown-as)]."""
    fields = []
    body = strip_comments(inside)
    for m in re.finditer(r'\blttng_ust_field_(\w+)\s*\(', body):
        kind = m.group(1)
        args, _ = balanced(body, m.end() - 1)
        a = split_args(args)
        nowrite = kind.endswith('_nowrite')
        base = kind[:-len('_nowrite')] if nowrite else kind
        shown = FIELD_KINDS.get(base, base)
        if base == 'string':
            name, ctype = a[0], 'char *'
        elif base == 'enum':
            name, ctype = a[3], '%s (enum %s:%s)' % (a[2], a[0], a[1])
        elif base.startswith('array'):
            name, ctype = a[1], '%s[%s]' % (a[0], a[3])
        elif base.startswith('sequence'):
            name, ctype = a[1], '%s[%s]' % (a[0], a[4])
        else:
            name, ctype = a[1], a[0]
        if nowrite:
            shown += ', not recorded (filter only)'
        fields.append((name, ctype, shown))
    return fields


def find_call(inside, macro):
    m = re.search(r'\b' + macro + r'\s*\(', inside)
    if not m:
        return ''
    body, _ = balanced(inside, m.end() - 1)
    return body


def parse_header(path):
    text = open(path, encoding='utf-8').read()
    code = text
    prov = re.search(r'#define\s+LTTNG_UST_TRACEPOINT_PROVIDER\s+(\w+)', code)
    if not prov:
        raise SystemExit('%s defines no LTTNG_UST_TRACEPOINT_PROVIDER' % path)
    head = re.match(r'\s*/\*(.*?)\*/', text, flags=re.S)
    paras = []
    if head:
        cur = []
        for l in head.group(1).split('\n'):
            l = re.sub(r'^\s*\*?\s?', '', l).rstrip()
            if not l.strip():
                if cur:
                    paras.append(' '.join(x.strip() for x in cur))
                cur = []
            else:
                cur.append(l)
        if cur:
            paras.append(' '.join(x.strip() for x in cur))
    desc = paras[0] if paras else ''
    desc = re.sub(r'^trace/\S+\s+-\s+', '', desc)
    desc = re.sub(r'^provider \w+:\s*', '', desc)
    desc = desc[:1].upper() + desc[1:]
    hp = {'provider': prov.group(1), 'header': os.path.relpath(path, ROOT),
          'desc': desc, 'notes': paras[1:], 'events': [], 'classes': {}, 'enums': []}
    for m in MACRO.finditer(text):
        # skip mentions inside comments
        line_start = text.rfind('\n', 0, m.start()) + 1
        prefix = text[line_start:m.start()]
        if '*' in prefix or '//' in prefix:
            continue
        kind = m.group(1)
        inside, _ = balanced(text, m.end() - 1)
        args = split_args(strip_comments(inside))
        comment = comment_above(text, line_start)
        if kind == 'ENUM':
            values = []
            body = strip_comments(find_call(inside, 'LTTNG_UST_TP_ENUM_VALUES'))
            for v in re.finditer(r'\blttng_ust_field_enum_(value|range|auto)\s*\(', body):
                va, _ = balanced(body, v.end() - 1)
                va = split_args(va)
                if v.group(1) == 'value':
                    values.append((va[0].strip('"'), va[1]))
                elif v.group(1) == 'range':
                    values.append((va[0].strip('"'), '%s ... %s' % (va[1], va[2])))
                else:
                    values.append((va[0].strip('"'), '(next)'))
            hp['enums'].append({'name': args[1], 'comment': comment, 'values': values})
        elif kind == 'EVENT_CLASS':
            hp['classes'][args[1]] = {
                'name': args[1], 'comment': comment,
                'fields': parse_fields(find_call(inside, 'LTTNG_UST_TP_FIELDS'))}
        elif kind == 'EVENT_INSTANCE':
            hp['events'].append({'name': args[3], 'class': args[1], 'comment': comment,
                                 'fields': None})
        else:
            hp['events'].append({'name': args[1], 'class': None, 'comment': comment,
                                 'fields': parse_fields(find_call(inside, 'LTTNG_UST_TP_FIELDS'))})
    for ev in hp['events']:
        if ev['class']:
            cls = hp['classes'].get(ev['class'])
            if cls is None:
                raise SystemExit('%s: event %s uses unknown class %s'
                                 % (path, ev['name'], ev['class']))
            ev['fields'] = cls['fields']
    return hp


def headers():
    return sorted(glob.glob(os.path.join(ROOT, 'trace', 'hvlab_*.h')))


def md_escape(s):
    return s.replace('|', '\\|')


def render(provs):
    out = []
    w = out.append
    w('# hvlab trace events')
    w('')
    w('<!-- Generated by mk/gen-trace-doc.py from trace/hvlab_*.h: do not edit.')
    w('     `make docs` regenerates it; `make check` fails when it is stale. -->')
    w('')
    w('Every event below is an LTTng-UST tracepoint.  A session made by')
    w('`hvlab run --trace DIR` enables them all (`hvlab_*`); with the `lttng`')
    w("client, enable one provider with `lttng enable-event -u 'hvlab_pt:*'`.")
    w('Sessions recorded by hvlab add the contexts `vpid`, `vtid` and `procname`')
    w('to every event.  How to record and read traces: [tracing.md](tracing.md).')
    w('')
    total = sum(len(p['events']) for p in provs)
    w('%d events in %d providers:' % (total, len(provs)))
    w('')
    w('| provider | events | header | what it covers |')
    w('|---|---|---|---|')
    for p in provs:
        w('| [%s](#%s) | %d | `%s` | %s |' % (p['provider'], p['provider'], len(p['events']),
                                             p['header'], md_escape(p['desc'])))
    for p in provs:
        w('')
        w('## %s' % p['provider'])
        w('')
        if p['desc']:
            w(p['desc'])
            w('')
        for note in p['notes']:
            w(note)
            w('')
        w('Header: `%s`.' % p['header'])
        for e in p['enums']:
            w('')
            w('### enum %s:%s' % (p['provider'], e['name']))
            w('')
            if e['comment']:
                w(e['comment'])
                w('')
            w('| label | value |')
            w('|---|---|')
            for label, val in e['values']:
                w('| `%s` | %s |' % (label, val))
        for c in p['classes'].values():
            w('')
            w('### class %s:%s' % (p['provider'], c['name']))
            w('')
            if c['comment']:
                w(c['comment'])
                w('')
            users = [ev['name'] for ev in p['events'] if ev['class'] == c['name']]
            w('Events of this class: %s.' % (', '.join('`%s:%s`' % (p['provider'], u)
                                                      for u in users) or 'none'))
        for ev in p['events']:
            w('')
            w('### %s:%s' % (p['provider'], ev['name']))
            w('')
            w('Emitted by: %s' % (md_escape(ev['comment']) or '*(no comment in the header)*'))
            if ev['class']:
                w('')
                w('Fields of class `%s`.' % ev['class'])
            w('')
            w('| field | C type | shown as |')
            w('|---|---|---|')
            for name, ctype, shown in ev['fields']:
                w('| `%s` | `%s` | %s |' % (name, md_escape(ctype), shown))
    w('')
    return '\n'.join(out)


def render_def(provs):
    """analysis/events.def: HV_FIELD(name) for every field name of any event
    (sorted), HV_EVENT(short, event, "provider:event", "f1 f2 ...") per event
    in header order (short: the provider without "hvlab_").  analysis/ decodes events by these names (analysis/event.h)."""
    names = sorted({f[0] for p in provs for ev in p['events'] for f in ev['fields']})
    out = ['/* analysis/events.def - the trace event catalog for analysis/.',
           ' * Generated by mk/gen-trace-doc.py --def from trace/hvlab_*.h: do not edit;',
           ' * `make docs` regenerates it and `make check` fails when it is stale.',
           ' * Define HV_FIELD(name) and/or HV_EVENT(short, event, "provider:event",',
           ' * "fields") before including it; short is the provider without "hvlab_". */',
           '#ifdef HV_FIELD']
    out += ['HV_FIELD(%s)' % n for n in names]
    out += ['#endif', '#ifdef HV_EVENT']
    for p in provs:
        for ev in p['events']:
            short = p['provider'][len('hvlab_'):] if p['provider'].startswith('hvlab_') \
                else p['provider']
            out.append('HV_EVENT(%s, %s, "%s:%s", "%s")' % (
                short, ev['name'], p['provider'], ev['name'],
                ' '.join(f[0] for f in ev['fields'])))
    out += ['#endif', '']
    return '\n'.join(out)


def lint(provs):
    problems = []
    for p in provs:
        for ev in p['events']:
            if not ev['comment']:
                problems.append('%s: event %s:%s has no comment naming the function '
                                'that emits it' % (p['header'], p['provider'], ev['name']))
    for user in ('trace/trace.h', 'trace/providers.c'):
        text = open(os.path.join(ROOT, user), encoding='utf-8').read()
        for p in provs:
            if '#include "%s"' % p['header'] not in text:
                problems.append('%s does not include %s: its events would not be '
                                'compiled in' % (user, p['header']))
    return problems


def write_file(path, text):
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, path)
    return 0


def check_file(path, text):
    """R3: exit status 1, with the difference, when path is stale."""
    try:
        have = open(path, encoding='utf-8').read()
    except OSError as e:
        print('%s cannot be read (%s); run `make docs`' % (path, e.strerror))
        return 1
    if have == text:
        return 0
    print('%s is stale: it differs from what mk/gen-trace-doc.py generates '
          'from trace/hvlab_*.h; run `make docs`.  Difference:' % path)
    sys.stdout.writelines(difflib.unified_diff(
        have.splitlines(True), text.splitlines(True),
        fromfile=path + ' (committed)', tofile=path + ' (generated)'))
    return 1


def main(argv):
    provs = [parse_header(h) for h in headers()]
    doc = render(provs)
    modes = {'--output': (False, lambda: doc), '--check': (True, lambda: doc),
             '--def': (False, lambda: render_def(provs)),
             '--check-def': (True, lambda: render_def(provs))}
    if len(argv) == 3 and argv[1] in modes:
        check, make = modes[argv[1]]
        return (check_file if check else write_file)(argv[2], make())
    if len(argv) == 2 and argv[1] == '--lint':
        problems = lint(provs)
        for pr in problems:
            print(pr)
        return 1 if problems else 0
    if len(argv) == 1:
        sys.stdout.write(doc)
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
