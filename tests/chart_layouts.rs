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
