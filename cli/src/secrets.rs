//! Passwords from the command line and from files. A password is a secret:
//! errors name the flag, the file and the line, never the content.

use crate::Failure;

/// `USER:PASS` from a flag's value.
pub(crate) fn user_pass(flag: &str, value: &str) -> Result<(String, String), Failure> {
    match value.split_once(':') {
        Some((user, pass)) if !user.is_empty() => Ok((user.to_owned(), pass.to_owned())),
        _ => Err(Failure::Usage(format!("{flag} needs USER:PASS"))),
    }
}

/// The first line of a file (without its line ending): a password kept
/// out of the process list.
pub(crate) fn first_line(flag: &str, path: &str) -> Result<String, Failure> {
    let text = read(flag, path)?;
    Ok(text.lines().next().unwrap_or("").to_owned())
}

/// `USER:PASS` lines from a file: blank lines and lines starting with `#`
/// are skipped; a line ending (LF or CRLF) is not part of the password.
pub(crate) fn user_pass_file(flag: &str, path: &str) -> Result<Vec<(String, String)>, Failure> {
    let text = read(flag, path)?;
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        match line.split_once(':') {
            Some((user, pass)) if !user.is_empty() => {
                users.push((user.to_owned(), pass.to_owned()))
            }
            _ => {
                return Err(Failure::Usage(format!(
                    "{flag} {path}: line {} is not USER:PASS",
                    i + 1
                )))
            }
        }
    }
    if users.is_empty() {
        return Err(Failure::Usage(format!("{flag} {path}: no USER:PASS line")));
    }
    Ok(users)
}

fn read(flag: &str, path: &str) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("{flag} {path}: {e}")))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Writes a file in this test run's own folder; returns its path.
    pub(crate) fn file(name: &str, text: &str) -> String {
        let dir = std::env::temp_dir().join(format!("stdws-cli-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    pub(crate) fn usage<T>(r: Result<T, Failure>) -> String {
        match r {
            Err(Failure::Usage(why)) => why,
            Err(Failure::Run(why)) => panic!("a run failure: {why}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn password_files_give_users_and_keep_secrets_out_of_errors() {
        let good = file("good", "# users\r\nalice:wonder land\r\n\n  \nbob:b:c\n");
        assert_eq!(
            user_pass_file("--basic-auth-file", &good).unwrap(),
            [
                ("alice".to_owned(), "wonder land".to_owned()),
                ("bob".to_owned(), "b:c".to_owned())
            ]
        );
        let bad = file("bad", "alice:x\nsecret-without-colon\n");
        let why = usage(user_pass_file("--basic-auth-file", &bad));
        assert!(why.ends_with("line 2 is not USER:PASS"), "{why}");
        assert!(!why.contains("secret"), "{why}");
        let empty = file("empty", "# nobody\n");
        assert!(usage(user_pass_file("--user-file", &empty)).ends_with("no USER:PASS line"));
        let missing = usage(user_pass_file("--user-file", "/nonexistent/stdws"));
        assert!(
            missing.starts_with("--user-file /nonexistent/stdws: "),
            "{missing}"
        );
    }

    #[test]
    fn a_bad_user_pass_value_is_not_repeated() {
        let why = usage(user_pass("--basic-auth", "no-colon-secret"));
        assert_eq!(why, "--basic-auth needs USER:PASS");
        assert!(usage(user_pass("--user", ":pass")).ends_with("needs USER:PASS"));
    }
}
