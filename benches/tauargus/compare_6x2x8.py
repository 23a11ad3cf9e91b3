# Runs tau-ARGUS Modular (pytauargus 0.6.0, HiGHS) on 3 000 records over 6 islands x 2 genders x 8
# services and writes the interior counts for `cargo run --release --example suppress_counts`.
#   python3 -m venv /tmp/tauenv && /tmp/tauenv/bin/pip install pytauargus==0.6.0
#   /tmp/tauenv/bin/python benches/tauargus/compare_6x2x8.py
import random, time
from pytauargus import protect
random.seed(2024)
isl=[0.6,0.24,0.09,0.04,0.02,0.01]; gen=[0.86,0.14]; srv=[0.3,0.22,0.16,0.11,0.08,0.06,0.04,0.03]
def pick(p):
    u=random.random()
    for i,w in enumerate(p):
        if u<w: return i
        u-=w
    return len(p)-1
rows={"island":[], "gender":[], "service":[], "one":[]}
for _ in range(3000):
    rows["island"].append(f"i{pick(isl)}"); rows["gender"].append(f"g{pick(gen)}"); rows["service"].append(f"s{pick(srv)}"); rows["one"].append(1.0)
t=time.time()
r=protect(rows, ["island","gender","service"], "one", safety_rules="FREQ(3,30)", suppress="MOD(1)", workdir="/tmp/ta_run")
print("secs", time.time()-t)
tab=r.tables[0]
st=tab.status()
import collections
print(collections.Counter(st))
import collections, csv
cnt=collections.Counter(zip(rows["island"],rows["gender"],rows["service"]))
with open("/tmp/counts_6x2x8.csv","w") as f:
    f.write("island,gender,service,count\n")
    for k,v in sorted(cnt.items()): f.write(",".join(k)+f",{v}\n")
