//! `check`, `validate` and `values` with `--chart`: the layout is the chart's own (every size path
//! its templates read, proven with a sentinel by the real Helm), not the built-in Kafka table.
//! Judged on the real Bitnami PostgreSQL 17.1.0 and Redis 23.1.1 charts in ../shared/fixtures, by
//! Helm 3 and 4: what `values --chart` writes, Helm renders as that claim template's size.

mod common;

use std::path::{Path, PathBuf};

struct Charts {
    postgresql: PathBuf,
    redis: PathBuf,
}

fn charts() -> Option<Charts> {
    let fx = common::shared_fixtures()?;
    Some(Charts {
        postgresql: fx.join("bitnami-postgresql/chart/postgresql-17.1.0.tgz"),
        redis: fx.join("bitnami-redis/chart/redis-23.1.1.tgz"),
    })
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn run(args: &[&str]) -> std::process::Output {
    common::run(args, b"")
}

fn with_chart<'a>(args: &[&'a str], chart: &'a str, helm: &'a str) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend(["--chart", chart, "--helm", helm]);
    v
}

fn check_on(helm: &Path) {
    let (Some(c), dir) = (charts(), tempfile::tempdir().unwrap()) else {
        return;
    };
    let helm = helm.to_str().unwrap();
    let pg = c.postgresql.to_str().unwrap();
    let d = dir.path();
    // PostgreSQL: a shrink of primary.persistence.size blocks with the chart; the table does not
    // know the path (a Kafka-only table), so without --chart it passes unseen.
    let base = write(
        d,
        "pg-base.yaml",
        "primary:\n  persistence:\n    size: 8Gi\n",
    );
    let head = write(
        d,
        "pg-head.yaml",
        "primary:\n  persistence:\n    size: 4Gi\n",
    );
    let argv = ["check", "--base", &base, "--head", &head];
    let o = run(&with_chart(&argv, pg, helm));
    assert_eq!(common::code(&o), 1, "{}", common::stderr(&o));
    assert!(
        common::stdout(&o).contains("error[shrink]: primary.persistence.size shrinks from 8Gi"),
        "{}",
        common::stdout(&o)
    );
    assert!(common::stderr(&o).contains("primary.persistence.size"));
    let o = run(&argv);
    assert_eq!(common::code(&o), 0, "the table knows no PostgreSQL layout");
    // Disabling persistence is data loss: an error by the chart's block.
    let off = write(
        d,
        "pg-off.yaml",
        "primary:\n  persistence:\n    enabled: false\n    size: 8Gi\n",
    );
    let o = run(&with_chart(
        &["check", "--base", &base, "--head", &off],
        pg,
        helm,
    ));
    assert_eq!(common::code(&o), 1, "{}", common::stdout(&o));
    assert!(
        common::stdout(&o).contains("error[disable]"),
        "{}",
        common::stdout(&o)
    );

    // Redis with replicas: the head's render has the replicas' claim; its shrink blocks.
    let redis = c.redis.to_str().unwrap();
    let base = write(
        d,
        "r-base.yaml",
        "architecture: replication\nreplica:\n  persistence:\n    size: 8Gi\n",
    );
    let head = write(
        d,
        "r-head.yaml",
        "architecture: replication\nreplica:\n  persistence:\n    size: 6Gi\n",
    );
    let o = run(&with_chart(
        &["check", "--base", &base, "--head", &head],
        redis,
        helm,
    ));
    assert_eq!(common::code(&o), 1, "{}", common::stderr(&o));
    assert!(
        common::stdout(&o).contains("error[shrink]: replica.persistence.size shrinks"),
        "{}",
        common::stdout(&o)
    );
    let grow = write(
        d,
        "r-grow.yaml",
        "architecture: replication\nreplica:\n  persistence:\n    size: 16Gi\n",
    );
    let o = run(&with_chart(
        &["check", "--base", &base, "--head", &grow],
        redis,
        helm,
    ));
    assert_eq!(common::code(&o), 0, "{}", common::stdout(&o));
    assert!(
        common::stdout(&o).contains("replica.persistence.size"),
        "{}",
        common::stdout(&o)
    );
}

#[test]
fn check_knows_every_path_the_chart_reads_helm3() {
    let Some(helm) = common::helm(3) else { return };
    check_on(&helm);
}

#[test]
fn check_knows_every_path_the_chart_reads_helm4() {
    let Some(helm) = common::helm(4) else { return };
    check_on(&helm);
}

/// `check --chart` renders the chart with each side's values and compares the StatefulSets by the
/// update rules, as a render check does: what no table of layouts knows, on charts it has no row
/// for. Redis without its replicas removes a StatefulSet (an error, accepted by `--allow-removed`
/// with the name under `--release`); PostgreSQL's `fullnameOverride` renames one (its pods would
/// start on new, empty PVCs); a storage class is said once (by the value), not again by the render.
fn check_renders_on(helm: &Path) {
    let (Some(c), dir) = (charts(), tempfile::tempdir().unwrap()) else {
        return;
    };
    let (helm, d) = (helm.to_str().unwrap(), dir.path());
    let redis = c.redis.to_str().unwrap();
    let base = write(d, "rb.yaml", "architecture: replication\n");
    let head = write(d, "rh.yaml", "architecture: standalone\n");
    let argv = [
        "check",
        "--base",
        &base,
        "--head",
        &head,
        "--release",
        "cache",
    ];
    let o = run(&with_chart(&argv, redis, helm));
    let out = common::stdout(&o);
    assert_eq!(common::code(&o), 1, "{out}{}", common::stderr(&o));
    let place = format!("{head}:1:1: error[statefulset-removed]: StatefulSet cache-redis-replicas");
    assert!(out.contains(&place), "{out}");
    // The hint's command is this check with --allow-removed, and it runs.
    let accept = format!(
        "`pvc-resize check --base {base} --head {head} --chart {redis} --release cache --allow-removed cache-redis-replicas`"
    );
    assert!(out.contains(&accept), "{out}");
    let mut accepted = with_chart(&argv, redis, helm);
    accepted.extend(["--allow-removed", "cache-redis-replicas"]);
    let o = run(&accepted);
    assert_eq!(common::code(&o), 0, "{}", common::stdout(&o));
    assert!(common::stdout(&o).contains("warning[statefulset-removed]"));
    // The table has no Redis layout: without --chart nothing is seen.
    assert_eq!(common::code(&run(&argv[..5])), 0);

    let pg = c.postgresql.to_str().unwrap();
    let base = write(d, "pb.yaml", "primary:\n  persistence:\n    size: 8Gi\n");
    let head = write(
        d,
        "ph.yaml",
        "fullnameOverride: pg\nprimary:\n  persistence:\n    size: 8Gi\n",
    );
    let o = run(&with_chart(
        &["check", "--base", &base, "--head", &head],
        pg,
        helm,
    ));
    let out = common::stdout(&o);
    assert_eq!(common::code(&o), 1, "{out}");
    assert!(
        out.contains("error[statefulset-removed]: StatefulSet release-postgresql"),
        "{out}"
    );
    assert!(out.contains("it looks renamed to pg"), "{out}");
    assert!(
        out.contains("notice[statefulset-added]: StatefulSet pg "),
        "{out}"
    );
    // A new storage class: the value's finding, at its line; the render's is the same news.
    let head = write(
        d,
        "pc.yaml",
        "primary:\n  persistence:\n    size: 8Gi\n    storageClass: gp3\n",
    );
    let o = run(&with_chart(
        &["check", "--base", &base, "--head", &head],
        pg,
        helm,
    ));
    let out = common::stdout(&o);
    assert_eq!(common::code(&o), 1, "{out}");
    assert!(
        out.contains(&format!("{head}:4:19: error[immutable]")),
        "{out}"
    );
    assert_eq!(out.matches("error[").count(), 1, "said once: {out}");
    // The access mode, set where the table has no block, comes from the render alone.
    let head = write(
        d,
        "pa.yaml",
        "primary:\n  persistence:\n    size: 8Gi\nglobal:\n  defaultStorageClass: fast\n",
    );
    let o = run(&with_chart(
        &["check", "--base", &base, "--head", &head],
        pg,
        helm,
    ));
    let out = common::stdout(&o);
    assert_eq!(common::code(&o), 1, "{out}");
    assert!(out.contains("error[claim-template-changed]: StatefulSet release-postgresql claim template \"data\" changes (spec.storageClassName"), "{out}");
}

#[test]
fn check_compares_the_chart_s_renders_helm3() {
    let Some(helm) = common::helm(3) else { return };
    check_renders_on(&helm);
}

#[test]
fn check_compares_the_chart_s_renders_helm4() {
    let Some(helm) = common::helm(4) else { return };
    check_renders_on(&helm);
}

/// `validate --chart` checks the chart's persistence blocks (an invalid quantity under
/// `primary.persistence`), which the table's Kafka blocks miss.
#[test]
fn validate_checks_the_chart_s_blocks() {
    let (Some(c), Some(helm)) = (charts(), common::helm(3)) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let v = write(
        dir.path(),
        "v.yaml",
        "primary:\n  persistence:\n    size: 8GB\n",
    );
    let pg = c.postgresql.to_str().unwrap();
    let o = run(&with_chart(
        &["validate", "--values", &v],
        pg,
        helm.to_str().unwrap(),
    ));
    assert_eq!(common::code(&o), 1, "{}", common::stderr(&o));
    assert!(
        common::stdout(&o).contains("v.yaml:3:11: error[invalid-quantity]: \"8GB\""),
        "{}",
        common::stdout(&o)
    );
    let o = run(&["validate", "--values", &v]);
    assert_eq!(
        common::code(&o),
        0,
        "the table's blocks do not include primary.persistence"
    );
}

/// `values --chart`: the chart's one size path by default (PostgreSQL standalone), judged by Helm's
/// render of the written file; several paths (Redis) or a path the chart does not read: refused,
/// naming the paths it reads.
#[test]
fn values_takes_the_chart_s_path() {
    let Some(c) = charts() else { return };
    for helm in [common::helm(3), common::helm(4)].into_iter().flatten() {
        let dir = tempfile::tempdir().unwrap();
        let h = helm.to_str().unwrap();
        let v = write(dir.path(), "v.yaml", "auth:\n  postgresPassword: fixed\n");
        let pg = c.postgresql.to_str().unwrap();
        let o = run(&with_chart(
            &["values", &v, "--size", "20Gi", "--write"],
            pg,
            h,
        ));
        assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
        let render = common::helm_template(&helm, "pg", &c.postgresql, "db", Path::new(&v), &[]);
        let claims = pvc_resize::charts::prove::all_claims(
            &pvc_resize::charts::prove::read(&render).unwrap(),
        );
        let sizes: Vec<&String> = claims.values().collect();
        assert_eq!(sizes, ["20Gi"], "{claims:?}");

        let redis = c.redis.to_str().unwrap();
        let v = write(dir.path(), "r.yaml", "architecture: replication\n");
        let o = run(&with_chart(&["values", &v, "--size", "20Gi"], redis, h));
        assert_eq!(common::code(&o), 2);
        assert!(
            common::stderr(&o).contains("master.persistence.size, replica.persistence.size"),
            "{}",
            common::stderr(&o)
        );
        let o = run(&with_chart(
            &["values", &v, "--size", "20Gi", "--path", "persistence.size"],
            redis,
            h,
        ));
        assert_eq!(common::code(&o), 2);
        let o = run(&with_chart(
            &[
                "values",
                &v,
                "--size",
                "20Gi",
                "--path",
                "replica.persistence.size",
            ],
            redis,
            h,
        ));
        assert_eq!(common::code(&o), 0, "{}", common::stderr(&o));
    }
}
