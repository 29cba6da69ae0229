import com.datastax.driver.core.Cluster;
import com.datastax.driver.core.Session;
import com.datastax.driver.core.exceptions.AuthenticationException;
import com.datastax.driver.core.exceptions.NoHostAvailableException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The local node's roles (run by tools/stack after the node answers, with the Cassandra jars on the class path):
 * a superuser {@code pulse_admin} replaces the well-known default {@code cassandra}/{@code cassandra}, which is
 * dropped, and the services' login role {@code pulse} may create and use keyspaces. Passwords come from files the
 * stack generated once; running it again changes nothing but re-applies the passwords.
 *
 * <p>Usage: {@code java PulseCassandraRoles.java HOST PORT ADMIN_PASSWORD_FILE PULSE_PASSWORD_FILE}
 */
public final class PulseCassandraRoles {
  private static final String ADMIN = "pulse_admin";
  private static final String SERVICE = "pulse";

  public static void main(String[] args) throws Exception {
    if (args.length != 4) {
      System.err.println("usage: PulseCassandraRoles HOST PORT ADMIN_PASSWORD_FILE PULSE_PASSWORD_FILE");
      System.exit(2);
    }
    String host = args[0];
    int port = Integer.parseInt(args[1]);
    String adminPassword = password(Path.of(args[2]));
    String servicePassword = password(Path.of(args[3]));

    Session admin = tryConnect(host, port, ADMIN, adminPassword);
    if (admin == null) {
      // A node that never had authentication on: its default superuser, created a moment after it starts.
      Session bootstrap = connect(host, port, "cassandra", "cassandra");
      bootstrap.execute(
          "CREATE ROLE IF NOT EXISTS " + ADMIN + " WITH SUPERUSER = true AND LOGIN = true AND PASSWORD = '" + adminPassword + "'");
      bootstrap.getCluster().close();
      admin = connect(host, port, ADMIN, adminPassword);
    }
    admin.execute("CREATE ROLE IF NOT EXISTS " + SERVICE + " WITH LOGIN = true AND PASSWORD = '" + servicePassword + "'");
    admin.execute("ALTER ROLE " + SERVICE + " WITH PASSWORD = '" + servicePassword + "'");
    admin.execute("GRANT ALL PERMISSIONS ON ALL KEYSPACES TO " + SERVICE);
    admin.execute("DROP ROLE IF EXISTS cassandra");
    admin.getCluster().close();
    System.out.println("cassandra: roles " + ADMIN + " (superuser) and " + SERVICE + " (services) ready");
  }

  /** The generated passwords are hex: nothing in them needs quoting in CQL. */
  private static String password(Path file) throws Exception {
    String text = Files.readString(file).trim();
    if (!text.matches("[0-9a-f]{16,128}")) throw new IllegalArgumentException(file + ": expected a hex password");
    return text;
  }

  private static Session tryConnect(String host, int port, String user, String password) {
    Cluster cluster = cluster(host, port, user, password);
    try {
      return cluster.connect();
    } catch (AuthenticationException e) {
      cluster.close();
      return null;
    } catch (NoHostAvailableException e) {
      cluster.close();
      if (e.getErrors().values().stream().anyMatch(AuthenticationException.class::isInstance)) return null;
      throw e;
    }
  }

  /** Connects, waiting up to 60 s for the role to exist (the default superuser is created just after start). */
  private static Session connect(String host, int port, String user, String password) throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (true) {
      Session session = tryConnect(host, port, user, password);
      if (session != null) return session;
      if (System.nanoTime() > deadline) throw new IllegalStateException("cannot log in to Cassandra as " + user);
      Thread.sleep(500);
    }
  }

  private static Cluster cluster(String host, int port, String user, String password) {
    return Cluster.builder().addContactPoint(host).withPort(port).withCredentials(user, password).withoutJMXReporting().build();
  }
}
