<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="de_DE">
<context>
    <name>ActivityPage</name>
    <message>
        <source>Backups and restores</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Took</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Result</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Activity</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restore</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clean-up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BrowseWindow</name>
    <message>
        <source>Unlocking…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unlock the backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Passphrase or recovery key of {where}:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>BrowserService</name>
    <message>
        <source>The backup is locked. Unlock it to browse its versions.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ChangePassphraseDialog</name>
    <message>
        <source>Change passphrase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a new passphrase for this backup. Your recovery key keeps working, and other computers will need the new passphrase.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CheckDialog</name>
    <message>
        <source>Check backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake reads the backup&apos;s lists of files and checks that every piece they name is there. Reading all the data too proves every byte can be restored, but downloads the whole backup.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Also read all the data (slower)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start check</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Another job (a backup?) is running; try again when it ends.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The check was stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The check could not run: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your backup is healthy: nothing damaged (objects checked: {count}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Files that cannot be restored as backed up: {count}; the next backup stores them again if they are still here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No file is affected.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Damage found. Problems: {problems} (objects checked: {count}).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Affected files:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ChoicePage</name>
    <message>
        <source>Start a new backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A new backup with its own passphrase and recovery key. The current backup is left as it is, and you can still browse and restore from it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy the history of the current backup into it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every earlier backup is copied under the new keys, so a passphrase that may have leaked no longer opens anything in it. This reads and writes the whole backup once.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The first backup into it sends all your files again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change where the backup is kept</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The backup you have now is left as it is until you delete it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy this backup there, with all its history</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use a backup that is already there</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The same passphrase and recovery key keep working. Choose an empty folder, a new Dropbox folder name or an empty bucket folder.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>For example the backup folder you copied to a new drive yourself. You type its passphrase next.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CrashDialog</name>
    <message>
        <source>Keepsake ran into a problem</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Something went wrong inside Keepsake. Your backups are safe; the app keeps running. If it happens again, please send this report. The log is in {log}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy report</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Damage</name>
    <message>
        <source>the backup of {when} from this computer ({id})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>backup {id} (time unknown)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A backup is damaged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} backups are damaged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake cannot read {name}: it was damaged where your backup is stored, so it is left out of the list of versions.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake cannot read {n} backups: {names}. They were damaged where your backup is stored, so they are left out of the list of versions.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your other backups can still be restored, and the next backup will run as usual and save your files again. Press Check backup to see whether anything else is affected; old backups are not thinned out until this is resolved (see the user guide).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Damaged: {names}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A backup is damaged: {name} cannot be read, so it is not on the timeline.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} backups are damaged: {names} cannot be read, so they are not on the timeline.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The backups shown here are intact; Check backup… tells whether anything else is affected.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DamagedBanner</name>
    <message>
        <source>Check backup…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DonePage</name>
    <message>
        <source>All set</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restore all files from the latest backup now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your backup is unlocked on this computer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;p&gt;Backup: &lt;b&gt;{where}&lt;/b&gt;&lt;/p&gt;&lt;p&gt;From now on Keepsake backs up:&lt;/p&gt;&lt;ul&gt;{folders}&lt;/ul&gt;&lt;p&gt;Schedule: {schedule}.&lt;/p&gt;&lt;p&gt;Restored files go back to their original places; files already there are replaced by the backed-up version. To pick single files instead, clear the box below and use &lt;b&gt;Versions&lt;/b&gt;.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Press Finish to start your first backup.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;p&gt;Backup: &lt;b&gt;{where}&lt;/b&gt;&lt;/p&gt;&lt;p&gt;Folders:&lt;/p&gt;&lt;ul&gt;{folders}&lt;/ul&gt;&lt;p&gt;Schedule: {schedule}.&lt;/p&gt;&lt;p&gt;The first backup copies everything and can take a while; Keepsake works in the background and you can close the window.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Drives</name>
    <message>
        <source>external drive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>other disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>network share</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>drive</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Dropbox</name>
    <message>
        <source>Open Dropbox in the browser first, then paste its code.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DropboxPage</name>
    <message>
        <source>Connect your Dropbox</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Allow Keepsake to use its own folder in your Dropbox, then paste the code Dropbox shows you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open Dropbox in my browser</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Code from Dropbox</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paste the code here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1. Sign in to Dropbox and press Allow:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>2. Paste the code Dropbox gives you:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>First, a Dropbox app key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This copy of Keepsake has no Dropbox app key built in. Register a private one (free, two minutes):&lt;ol&gt;&lt;li&gt;Open &lt;a href=&apos;https://www.dropbox.com/developers/apps/create&apos;&gt;dropbox.com/developers/apps/create&lt;/a&gt; and sign in.&lt;/li&gt;&lt;li&gt;Choose &lt;b&gt;Scoped access&lt;/b&gt;, then &lt;b&gt;App folder&lt;/b&gt;, and name it, e.g. “Keepsake Ann”. Press &lt;b&gt;Create app&lt;/b&gt;.&lt;/li&gt;&lt;li&gt;On the &lt;b&gt;Permissions&lt;/b&gt; tab tick &lt;b&gt;files.metadata.write&lt;/b&gt;, &lt;b&gt;files.content.write&lt;/b&gt; and &lt;b&gt;files.content.read&lt;/b&gt;; press &lt;b&gt;Submit&lt;/b&gt;.&lt;/li&gt;&lt;li&gt;On the &lt;b&gt;Settings&lt;/b&gt; tab, set &lt;b&gt;Allow public clients (Implicit Grant &amp;amp; PKCE)&lt;/b&gt; to &lt;b&gt;Allow&lt;/b&gt;.&lt;/li&gt;&lt;li&gt;Copy the &lt;b&gt;App key&lt;/b&gt; (not the App secret) and paste it here:&lt;/li&gt;&lt;/ol&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dropbox app key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>App key, e.g. a1b2c3d4e5f6g7h</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An app key is letters and digits only, like a1b2c3d4e5f6g7h.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking the key with Dropbox…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dropbox knows this key. Now sign in:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not start the Dropbox sign-in: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your browser opened Dropbox. Come back here with the code.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connected to Dropbox.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not connect: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FinishPage</name>
    <message>
        <source>Moving your backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Try again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Browse the old backup…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opening the current backup…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copying your backup to %s…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copying every backup into the new one at %s…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Another job is running. Wait until it ends, then try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%d of %d backups copied (%s so far)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The copy was cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Damaged in the old backup and left out: %s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Switching to the new place…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backups now go to %s. The old backup at %s was left as it was: you can still browse and restore from it, or delete it when you no longer need it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing was switched: backups still go to %s.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> Everything was copied to %s: Try again to switch.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> Try again to finish the copy, or delete what was copied.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> The new backup at %s holds what was copied so far and is not used; delete it, or start again with another place.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FolderListEditor</name>
    <message>
        <source>Folders to back up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Patterns to skip, one per line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>**/cache</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Folders to back up&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Skip&lt;/b&gt; (one pattern per line)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Caches, temporary files and trash folders are skipped by default.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a folder to back up</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FoldersPage</name>
    <message>
        <source>Save changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Undo changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folders</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changes apply from the next backup. Earlier backups keep what they had.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where is {name} now?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} will be backed up from {path}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose at least one folder.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is no longer backed up.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What should Keepsake back up?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pictures and Documents are a good start. You can change this later.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>HistoryModel</name>
    <message>
        <source>Added</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unchanged</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backed up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Modified</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>What changed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backup {id} of {time}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Jobs</name>
    <message>
        <source>A file or folder Keepsake needs is missing: {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake is not allowed to read or write {name}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The system reported an error: {reason}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Something unexpected went wrong. Details are in the log file (Help &gt; Open log folder).</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Locations</name>
    <message>
        <source>{path} does not exist. Is the drive connected?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} is a file, not a folder.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake cannot write to {path} ({reason}). Choose another folder.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} has only {room} free. Choose a drive with more room.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The folder {name} ({path}) was not found: it was renamed, deleted, or is on a drive that is not connected. Open Folders to locate or remove it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} folders were not found ({names}): renamed, deleted, or on a drive that is not connected. Open Folders to locate or remove them.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Keepsake</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pages</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Overview</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folders</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Versions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Activity</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Back up now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Close window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit Keepsake</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;log folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About Keepsake</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About Keepsake</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Keepsake {version}&lt;/b&gt;&lt;p&gt;Encrypted, incremental backups of your photos and documents. Licensed under the GPL 3.0 or later.&lt;/p&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake is still running</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backups continue in the background. Open Keepsake from its icon in the tray.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit Keepsake?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no system tray here, so closing the window quits Keepsake and scheduled backups will not run until you open it again.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MissingFolderRow</name>
    <message>
        <source>&lt;b&gt;{name}&lt;/b&gt; is missing ({folder})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Locate…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Locate {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop backing up {name}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MoveWizard</name>
    <message>
        <source>Start a new backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Move backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This folder already holds a Keepsake backup. Choose an empty or new folder for the new backup.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This folder already holds a Keepsake backup. To use it, go Back and choose “Use a backup that is already there”; or choose another folder.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>NewPassphraseFields</name>
    <message>
        <source>Too short: use at least {n} letters, digits or signs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Too repetitive: use a few different words</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Weak: add a few more words</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fair: a longer phrase would be stronger</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Strong</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Very strong</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>At least {n} characters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show passphrase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Passphrase:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type it again:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The two passphrases are different</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>NoticePopup</name>
    <message>
        <source>Keepsake</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close notification</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Notices</name>
    <message>
        <source>This computer has no secure system keyring (GNOME Keyring, KWallet, macOS Keychain or Windows Credential Manager), so Keepsake cannot remember the passphrase: it asks for it after each start, and scheduled backups wait until you type it. Keepsake never keeps the passphrase in a plain file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not change the login setting: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake needs your passphrase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A scheduled backup is waiting. Open Keepsake and unlock the vault.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A folder is missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backup location not found</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{where} is not available: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the backup location</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backup failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your first backup is complete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake will now keep your files backed up automatically.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backups are out of date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Missing folder: {names} (not backed up).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Missing folders: {names} (not backed up).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 file could not be read and was skipped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} files could not be read and were skipped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Removed 1 old backup.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Removed {n} old backups.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>OverviewPage</name>
    <message>
        <source>Failed: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} new file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} new files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} changed file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} changed files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} sent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} file skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} files skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back up now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Files:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Data:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Now:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Speed:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time left:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last backup:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next backup:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stored in:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Vault size:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check backup…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>See which files the damage affects</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} in {n} backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{size} in {n} backups</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Never</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paused until {time}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Soon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not set up</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PassphrasePage</name>
    <message>
        <source>Choose a passphrase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your backup is encrypted with it. Keepsake never sees it and cannot reset it: a few random words you can remember work well.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remember on this computer (so backups run on their own)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It is kept in the system keyring, never in a file. You can change this later.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Creating your encrypted backup…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not create the backup: {reason} Go Back to choose another place, or press Create backup to try again.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PreviewPane</name>
    <message>
        <source>Preview: the first lines of this version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a file to see it as it was.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preparing a preview of {name}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Making a thumbnail…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Modified {time}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No preview for this image.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RecoveryKit</name>
    <message>
        <source>Install Keepsake on the new computer and open it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In the first-run window choose &quot;Restore from an existing backup&quot;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose the same storage: {where}. For Dropbox, sign in to the same account.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type your passphrase. If you forgot it, choose “Use the recovery key” and type the key printed on this page.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake restores your files to their original places, or browse Versions to pick single files and folders.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake emergency recovery kit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not write {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake — Emergency recovery kit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Made on {date}. Print this page and keep it somewhere safe, away from this computer. Anyone with this key and access to your storage can read your backups.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your recovery key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where your backup lives</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Vault id: {id}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>To get your files back on a new computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake never knows your passphrase or this key: if both are lost, nobody can open the backup, including us.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RecoveryPage</name>
    <message>
        <source>Your recovery key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>If you forget your passphrase, this key is the only other way into your backup. It is shown only now: save or print it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your backup is ready. Here is your recovery key:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save to file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Print…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save recovery kit (PDF)…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>I have saved my recovery key somewhere safe</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery key: {key}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copied. Paste it into a password manager or a note you keep safe.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save recovery key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved to {path}. Keep a copy away from this computer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake recovery key

{key}

Backup: {where}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save emergency recovery kit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not save the kit: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery kit saved to {path}. Print it and keep it safe.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>S3</name>
    <message>
        <source>Enter the access key ID and the secret key.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no Keepsake backup in {location}. Check the bucket and the folder name.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{location} already holds a Keepsake backup. To use it, go Back and choose “Restore from an existing backup”, or choose another folder.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connected to {location} at {where}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>S3Dialog</name>
    <message>
        <source>S3 connection</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>S3Form</name>
    <message>
        <source>Region or endpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Test connection</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provider:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bucket:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder in the bucket:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Access key ID:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Secret key:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The bucket must exist already. The secret key is kept only in this computer&apos;s keyring.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Provider</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Providers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Region, account ID or endpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bucket</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder in the bucket</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Access key ID</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Secret key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S3 support is not available in this build.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Endpoint: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Endpoint: AWS&apos;s default for the region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the bucket, the access key ID and the secret key.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Testing the connection…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>S3Page</name>
    <message>
        <source>S3-compatible storage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backblaze B2, Wasabi, Cloudflare R2, Amazon S3, or your own server. Keepsake tests the connection before going on.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>S3Presets</name>
    <message>
        <source>Region</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The region is part of the endpoint shown on the bucket&apos;s page. Use an application key limited to this bucket.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wasabi bills deleted data for 90 days.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Account ID</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Create an R2 API token with Object Read &amp; Write on the bucket.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The bucket&apos;s region.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Other (MinIO, Garage, a NAS…)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Endpoint</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The address of your S3-compatible server.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ScheduleEditor</name>
    <message>
        <source>Every hour (recommended)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every day at</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only when I press Back up now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Hours between backups</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> hours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time of the daily backup</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SchedulePage</name>
    <message>
        <source>How often?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backups run in the background and only send what changed. If the computer is off or asleep at the time, the backup runs soon after it wakes up.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsPage</name>
    <message>
        <source>Schedule</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Warn after days without a backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Warn me when no backup succeeded for</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unlimited</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Storage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change location…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start a new backup…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backup is stored in:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change location: use a backup that is already in another folder, in Dropbox or on S3, or copy this one there with all its history. Start a new backup: a new passphrase and recovery key, with the history copied in or empty. The old backup is always left as it was.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S3 connection…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Upload speed limit:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Old backups</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep every backup for:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Then one a day for:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Then one a week for:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Then one a month for:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Older backups are thinned out once a day, after a backup.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start Keepsake when I log in</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remember the passphrase on this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Change passphrase…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Without it, Keepsake asks for the passphrase before each scheduled backup.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not set up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The passphrase is remembered in the system keyring.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opening the current backup…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Passphrase changed. Use the new one on your other computers. The backup&apos;s keys are unchanged, so a kept copy of the old key file still opens it with the old passphrase. If the old one may have leaked, press Start a new backup… and copy the history into it: that moves everything to new keys (see &apos;Changing the passphrase&apos; in the user guide).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Wait until the running job ends, then try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Passphrase not changed</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SetupWizard</name>
    <message>
        <source>Set up Keepsake</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Finish</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Passphrase not remembered</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Status</name>
    <message>
        <source>Backing up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restoring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cleaning up old backups</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copying the backup to its new place</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Working</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No successful backup for {ago}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not set up yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{doing} paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backups paused</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A folder is missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Some folders are missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last backup failed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No backup yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Press Back up now to make the first backup.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backups are out of date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Up to date, some files skipped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Up to date</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your files are backed up and encrypted.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>StoragePage</name>
    <message>
        <source>Where should the backup live?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Everything is encrypted on this computer before it is stored.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A folder or external drive</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dropbox</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S3-compatible storage</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backup folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder name in Dropbox</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Found:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This folder is on the same disk as your files: if that disk fails, the backup is lost with them. An external drive or a network share is safer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Best on an external drive or a network share: a backup on the same disk does not survive that disk failing.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Folder name in Dropbox:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake only sees its own folder in your Dropbox (Apps/Keepsake).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dropbox support is not available in this build.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backblaze B2, Wasabi, Cloudflare R2, Amazon S3, or a NAS running MinIO: cheap space for a large library.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S3 support is not available in this build.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dropbox needs a secure system keyring (GNOME Keyring, KWallet, macOS Keychain or Windows Credential Manager) to keep the sign-in; this computer has none.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>S3 storage needs a secure system keyring to keep the secret key; this computer has none.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose where to keep the backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} does not exist. Is the drive connected?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This folder already holds a Keepsake backup.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Tray</name>
    <message>
        <source>Keepsake: {headline}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Last backup {when}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back up now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pause for 1 hour</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open Keepsake</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>UnlockDialog</name>
    <message>
        <source>Unlock your backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type the passphrase of your backup in &lt;b&gt;{where}&lt;/b&gt;.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remember on this computer (in the system keyring)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unlock</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>UnlockPage</name>
    <message>
        <source>Unlock your backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type the passphrase you chose when you set up Keepsake.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Passphrase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovery key (from your recovery kit)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Passphrase or recovery key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remember the passphrase on this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opening your backup… this takes a few seconds.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unlocked.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>VaultService</name>
    <message>
        <source>The vault is locked. Enter your passphrase to unlock it.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>VersionTreeModel</name>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Modified</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted {time}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path}
Deleted: no longer in the backup of {time}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>VersionsDialogs</name>
    <message>
        <source>A different version is there now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>“{name}” is already in {folder}, and {count} of its files differ from the backup.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A different “{name}” is already in {folder}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replace it with the backed-up version, or keep both (the restored copy is named “{keep}”)?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep both</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>“{name}” is restored in {folder}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show in folder</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>VersionsPage</name>
    <message>
        <source>Restore into which folder?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Search every backed-up file by name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show deleted files</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Check backup…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time travel: the backup the tree shows</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>All backups</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back to now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every file and folder ever backed up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Versions of the selected file, newest first</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Versions&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unlock to browse</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restore to…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Put the selected version directly inside a folder you choose</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restore</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Put the selected version back where it was</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Time travel:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Versions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your backup is locked.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opening the backup…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No backups yet: once the first backup is done, its files appear here.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reading the list of backups…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Now: all 1 backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Now: all {count} backups</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>As on {time} ({number} of {total})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select a file to see it as it was.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>; showing the first ones</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> (still indexing older backups…)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 match for “{text}”{note}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{count} matches for “{text}”{note}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing named like “{text}”{note}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{path} was never backed up.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It was deleted: turn on “Show deleted files” to see it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>It is not in the backup shown; move the timeline to see it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&lt;b&gt;Versions of {name}&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name}: a folder. Drag it out or restore it as it was in that backup.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted: no longer in the backup of {time}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>restored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking {dest}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{dest} already is this version; nothing to do.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restore cancelled; nothing was changed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Another restore is running; try again when it has finished.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restoring {name}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restore cancelled. Files already restored were kept.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not restore: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> 1 item could not be restored.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source> {count} items could not be restored.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restored to {dest}.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <source>Welcome to Keepsake</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keepsake keeps encrypted copies of your photos and documents, so a broken or stolen computer never takes them with it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back up this computer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restore from an existing backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set up a new, encrypted backup. This takes about two minutes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>For a new computer: open a backup made earlier with Keepsake, using its passphrase or recovery key, and get your files back.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>WizardBase</name>
    <message>
        <source>This folder already holds a Keepsake backup. To use it, go Back and choose “Restore from an existing backup”; or choose another folder.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>fmt</name>
    <message>
        <source>Opening the vault</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Looking for changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backing up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Finishing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Restoring</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Checking</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cleaning up</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copying the backup</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Done</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Only when you press Back up now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every hour</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every {n} hours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Every day at {time}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>never</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>just now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>in a moment</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>less than a second</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>calculating…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a few seconds</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dropbox asked us to slow down, resuming at {time}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{done} of {total}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} files</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
