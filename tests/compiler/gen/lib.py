# gen/lib.py — writes corpus cases from statements: expected SQL is athanor's own output (build/x3's
# CLI), and every rendering that differs from SQLAlchemy's (sqla_render.py) without a "why" is
# printed for review. Run g06/g07/g08.py with /usr/bin/python3 from this folder after changing them.
import json, subprocess, sys, re, os
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import warnings; warnings.simplefilter('ignore')
import sqla_render as O
ATH = os.environ.get('ATHANOR_CLI', '/work/main/build/x3/cli/athanor')
D = ("sqlite", "postgresql", "mysql", "mariadb")
def col(t, c): return ["col", t, c]
def b(i): return ["bind", i]
def lit(v): return ["lit", v]
def sel(cols, **kw): d = {"k": "select", "columns": cols}; d.update(kw); return d
def T(n): return ["table", n]

def ath(stmt, d, params=None):
    with open('/tmp/gen/s.json', 'w') as f: json.dump(stmt, f)
    args = [ATH, 'compile', '--dialect', d, '/tmp/gen/s.json']
    if params is not None: args += ['--params', json.dumps(params)]
    p = subprocess.run(args, capture_output=True, text=True)
    if p.returncode != 0:
        m = re.match(r'(?:athanor: )?(\w+Error): (.*)', p.stderr.strip().split('\n')[0])
        return None, (m.group(1), m.group(2)) if m else ("?", p.stderr.strip())
    return json.loads(p.stdout)["sql"], None

def to_q(sql): return re.sub(r'\$\d+', '?', sql)

WHYS = {}
def make(name, stmt, params=None, why=None, **extra):
    why = why or WHYS.get(name)
    case = {"name": name, "stmt": stmt}
    if params is not None: case["params"] = params
    sqls, errs, raw = {}, {}, {}
    for d in D:
        sql, err = ath(stmt, d, params)
        if err: errs[d] = {"class": err[0], "contains": err[1][:90]}
        else: sqls[d] = to_q(sql); raw[d] = sql
    out = {}
    if sqls:
        vals = list(sqls.values())
        common = max(set(vals), key=vals.count)
        out["all"] = common
        for d, v in sqls.items():
            if v != common:
                if d == "mariadb" and sqls.get("mysql") == v and "mysql" in out: continue
                out[d] = raw[d]
        # if mysql differs and mariadb equals common, must state mariadb explicitly
        if "mysql" in out and "mariadb" in sqls and sqls["mariadb"] == common: out["mariadb"] = common
        case["sql"] = out
    if errs:
        if len(errs) == 4 and len(set(e["class"] for e in errs.values())) == 1 and len(set(e["contains"] for e in errs.values())) == 1:
            case["errors"] = {"all": list(errs.values())[0]}
        else:
            case["errors"] = errs
    if why: case["why"] = why
    case.update(extra)
    # differential report
    for d in D:
        if d not in sqls: continue
        try: got = O.normalise(O.render(stmt, d, params)[0])
        except Exception as e: got = "ORACLE-ERR %s" % str(e)[:80]
        if O.normalise(got) != O.normalise(sqls[d]) and not why:
            print("DIFF %s [%s]\n  ath:  %s\n  sqla: %s" % (name, d, sqls[d], got), file=sys.stderr)
    return case

def dump(path, cases):
    with open(path, 'w') as f:
        f.write('[\n')
        for i, c in enumerate(cases):
            f.write(' ' + json.dumps(c, ensure_ascii=False) + (',\n' if i < len(cases) - 1 else '\n'))
        f.write(']\n')
    print("%s: %d cases" % (path, len(cases)))
